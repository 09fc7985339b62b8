import { describeSessionStoreContract } from "../testing/session-store-contract.js";
import { createMemoryUserStore } from "../users/memory-store.js";
import { createMemorySessionStore } from "./memory-store.js";

describeSessionStoreContract("memory", async () => {
  const users = createMemoryUserStore();
  const passwordHash = "$2b$04$ykOe2isXSerd0ctNDkndoekUd7qxmq80Z.ykAaKZFzkfUyQb6tvci";
  const { id, username } = await users.create({ username: "JohnDoe", passwordHash });
  return { store: createMemorySessionStore({ users }), users, user: { id, username, passwordHash } };
});

import { describeSessionStoreContract } from "../testing/session-store-contract.js";
import { createMemorySessionStore } from "./memory-store.js";

describeSessionStoreContract("memory", () => ({
  store: createMemorySessionStore(),
  user: { id: "1", username: "JohnDoe" },
}));

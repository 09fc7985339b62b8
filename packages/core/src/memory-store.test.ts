import { createMemoryUserStore } from "./memory-store.js";
import { describeUserStoreContract } from "./testing/user-store-contract.js";

describeUserStoreContract("memory store", () => ({ store: createMemoryUserStore() }));

import { describeUserStoreContract } from "../testing/user-store-contract.js";
import { createMemoryUserStore } from "./memory-store.js";

describeUserStoreContract("memory store", () => ({ store: createMemoryUserStore() }));

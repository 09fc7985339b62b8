import { describeKeyStoreContract } from "../testing/key-store-contract.js";
import { createMemoryKeyStore } from "./memory-store.js";

describeKeyStoreContract("memory", async () => ({ store: createMemoryKeyStore() }));

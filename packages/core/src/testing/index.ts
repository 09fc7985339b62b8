export { type FaultProxy, startFaultProxy } from "./fault-proxy.js";
export { describeKeyStoreContract, type KeyStoreFixture } from "./key-store-contract.js";
export {
  describeSessionStoreContract,
  type SessionStoreContractOptions,
  type SessionStoreFixture,
} from "./session-store-contract.js";
export {
  describeUserStoreContract,
  type UserStoreContractOptions,
  type UserStoreFixture,
} from "./user-store-contract.js";

export { type FaultProxy, startFaultProxy } from "./fault-proxy.js";
export {
  describeUserStoreContract,
  type UserStoreContractOptions,
  type UserStoreFixture,
} from "./user-store-contract.js";

export {
  type AuthenticateHook,
  type LatchkeyUser,
  type LatchkeyVerifyPluginOptions,
  latchkeyVerify,
} from "./plugin.js";
export type { RefusalBody } from "./replies.js";

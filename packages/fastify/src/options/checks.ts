import { InvalidOptionsError, WeakSecretError } from "@latchkey/core";

/** Throws the plugin's option error: `INVALID_OPTIONS`, naming the plugin. */
export function fail(message: string): never {
  throw new InvalidOptionsError(`@latchkey/fastify: ${message}`);
}

export function hasMethods(value: unknown, methods: readonly string[]): boolean {
  return (
    typeof value === "object" &&
    value !== null &&
    methods.every((method) => typeof (value as Record<string, unknown>)[method] === "function")
  );
}

export function isPositiveInteger(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value > 0;
}

/** Re-throws core's option errors with the plugin's name and, when core's message lacks it, the option's. */
export function rethrowWithPrefix(error: unknown, option: string | undefined): never {
  const where = option === undefined ? "" : `option \`${option}\`: `;
  if (error instanceof WeakSecretError) throw new WeakSecretError(`@latchkey/fastify ${where}${error.message}`);
  if (error instanceof InvalidOptionsError) fail(`${where}${error.message}`);
  throw error;
}

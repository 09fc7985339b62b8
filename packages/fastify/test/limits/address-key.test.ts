import { describe, expect, it } from "vitest";
import { clientAddressKey, loginNameCounterKey } from "../../src/limits/rate-limit.js";

const request = (ip: string, remoteAddress = "192.0.2.10") => ({ ip, socket: { remoteAddress } }) as never;

describe("clientAddressKey", () => {
  it("keys IPv4 clients by their address, also when written IPv4-mapped", () => {
    expect(clientAddressKey(request("203.0.113.7"))).toBe("203.0.113.7");
    expect(clientAddressKey(request("::ffff:203.0.113.7"))).toBe("203.0.113.7");
  });

  it("keys IPv6 clients by their /64, so one subscriber's 2^64 addresses share one budget", () => {
    const sameSite = ["2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:0db8:0001:0002:abcd::9"];
    for (const address of sameSite) expect(clientAddressKey(request(address))).toBe("2001:db8:1:2::");
    expect(clientAddressKey(request("2001:db8:1:3::1"))).toBe("2001:db8:1:3::");
    expect(clientAddressKey(request("::1"))).toBe("::");
  });

  it("never keys by a forwarded value that is not an IP address: the socket's peer is used", () => {
    expect(clientAddressKey(request("not-an-ip"))).toBe("192.0.2.10");
    expect(clientAddressKey(request("x".repeat(12_000)))).toBe("192.0.2.10");
    expect(clientAddressKey(request("203.0.113.7, 10.0.0.1"))).toBe("192.0.2.10");
  });

  it("has a bounded size whatever is sent", () => {
    for (const ip of ["2001:db8::1", "garbage".repeat(1000), "::ffff:1.2.3.4", ""]) {
      expect(clientAddressKey(request(ip)).length).toBeLessThanOrEqual(39);
    }
  });
});

describe("loginNameCounterKey", () => {
  it("is one fixed-size key for every spelling that reaches one account", () => {
    const key = loginNameCounterKey("JohnDoe", "case-insensitive");
    for (const typed of ["johndoe", " JOHNDOE", "JohnDoe\u00a0"]) {
      expect(loginNameCounterKey(typed, "case-insensitive")).toBe(key);
    }
    expect(loginNameCounterKey("johndoe", "exact")).not.toBe(loginNameCounterKey("JohnDoe", "exact"));
    expect(loginNameCounterKey("x".repeat(10_000), "exact")).toHaveLength(key.length);
  });
});

import { afterEach, describe, expect, it, vi } from "vitest";
import { nodeReady } from "./api";

const answer = (status: number, body: unknown) =>
  vi.fn(async () => new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } }));

describe("a node's readiness as the console reads it through the edge", () => {
  afterEach(() => vi.unstubAllGlobals());
  it("asks that node's own route and says up when it is ready", async () => {
    const f = answer(200, { status: "ready", leader: 2 });
    vi.stubGlobal("fetch", f);
    expect(await nodeReady("football", 3)).toBe("up");
    expect((f.mock.calls as unknown as string[][])[0][0]).toBe("/api/football/nodes/3/readyz");
  });
  it("says not ready when the node answers 503 itself (no leader, still applying)", async () => {
    vi.stubGlobal("fetch", answer(503, { title: "Not ready", status: 503, detail: "no leader is known" }));
    expect(await nodeReady("accounts", 1)).toBe("notready");
  });
  it("says down when the edge could not reach it, or nothing answered", async () => {
    vi.stubGlobal("fetch", answer(503, { code: "edge.unavailable", status: 503 }));
    expect(await nodeReady("football", 1)).toBe("down");
    vi.stubGlobal("fetch", answer(502, {}));
    expect(await nodeReady("football", 1)).toBe("down");
    vi.stubGlobal("fetch", vi.fn(async () => { throw new TypeError("network"); }));
    expect(await nodeReady("football", 1)).toBe("down");
  });
});

describe("the agreement alerts from the leader's view", () => {
  it("names each dissenting node with its observations and prices, then the stalled subjects", async () => {
    const { agreementAlerts } = await import("./api");
    expect(agreementAlerts({ observations: { dissent: {}, stalled: 0, alerts: 0 }, quotes: { dissent: {} } })).toEqual([]);
    expect(agreementAlerts({ observations: null, quotes: null })).toEqual([]);
    expect(agreementAlerts({ observations: { dissent: { "3": 12 }, stalled: 2 }, quotes: { dissent: { "3": 4, "1": 1 } } })).toEqual([
      { kind: "dissent", node: 1, observations: 0, quotes: 1 },
      { kind: "dissent", node: 3, observations: 12, quotes: 4 },
      { kind: "stalled", subjects: 2 },
    ]);
  });
});

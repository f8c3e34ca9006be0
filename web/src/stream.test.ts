import { describe, expect, it } from "vitest";
import { openStream, SseParser, type SseEvent, type StreamStatus } from "./stream";

describe("SseParser", () => {
  it("parses events split anywhere, with comments, CRLF and multi-line data", () => {
    const text = ": parlay quote stream\r\nretry: 1000\r\n\r\nid: 41\r\nevent: suspended\r\ndata: {\"a\":1}\r\n\r\nid: 42\nevent: published\ndata: line1\ndata: line2\n\n: keepalive\n\n";
    for (const size of [1, 2, 3, 7, text.length]) {
      const p = new SseParser();
      const out: SseEvent[] = [];
      for (let i = 0; i < text.length; i += size) out.push(...p.feed(text.slice(i, i + size)));
      expect(out).toEqual([
        { id: "41", event: "suspended", data: '{"a":1}' },
        { id: "42", event: "published", data: "line1\nline2" },
      ]);
      expect(p.lastId).toBe("42");
      expect(p.retryMs).toBe(1000);
    }
  });
  it("does not dispatch an event before its blank line", () => {
    const p = new SseParser();
    expect(p.feed("id: 1\ndata: x\n")).toEqual([]);
    expect(p.feed("\n")).toEqual([{ id: "1", event: "message", data: "x" }]);
  });
});

// A fake server: each connection is a scripted list of chunks, then the connection drops
// (or fails / answers an error status). It records the Last-Event-ID of every request.
function fakeServer(script: ({ chunks: string[] } | { status: number } | { error: true })[]) {
  const seen: (string | undefined)[] = [];
  let n = 0;
  const fetchImpl = (async (_url: string, init?: RequestInit) => {
    const headers = (init?.headers ?? {}) as Record<string, string>;
    seen.push(headers["Last-Event-ID"]);
    const step = script[Math.min(n++, script.length - 1)];
    if ("error" in step) throw new TypeError("connection refused");
    if ("status" in step) return new Response("down", { status: step.status });
    const enc = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (const ch of step.chunks) c.enqueue(enc.encode(ch));
        c.close();
      },
    });
    return new Response(body, { status: 200, headers: { "Content-Type": "text/event-stream" } });
  }) as typeof fetch;
  return { fetchImpl, seen };
}

async function until(cond: () => boolean, ms = 2000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("openStream", () => {
  it("resumes with Last-Event-ID after a drop, a refused connection and an error answer", async () => {
    const { fetchImpl, seen } = fakeServer([
      { chunks: ["id: 7\nevent: published\ndata: a\n\n", "id: 8\nevent: susp", "ended\ndata: b\n\n"] },
      { error: true },
      { status: 502 },
      { chunks: ["id: 9\nevent: closed\ndata: c\n\n"] },
      { chunks: [] },
    ]);
    const events: SseEvent[] = [];
    const statuses: StreamStatus[] = [];
    const h = openStream({ url: "/s", fetchImpl, onEvent: (e) => events.push(e), onStatus: (s) => statuses.push(s), minDelayMs: 1, maxDelayMs: 4 });
    await until(() => events.length === 3);
    h.close();
    expect(events.map((e) => [e.id, e.event, e.data])).toEqual([
      ["7", "published", "a"],
      ["8", "suspended", "b"],
      ["9", "closed", "c"],
    ]);
    expect(seen.slice(0, 4)).toEqual([undefined, "8", "8", "8"]);
    expect(h.lastEventId()).toBe("9");
    expect(statuses[0]).toBe("connecting");
    expect(statuses).toContain("reconnecting");
    expect(statuses).toContain("open");
  });
  it("starts from a given id and stops reconnecting once closed", async () => {
    const { fetchImpl, seen } = fakeServer([{ chunks: [] }]);
    const h = openStream({ url: "/s", fetchImpl, onEvent: () => undefined, lastEventId: "41", minDelayMs: 1 });
    await until(() => seen.length >= 2);
    h.close();
    const count = seen.length;
    await new Promise((r) => setTimeout(r, 30));
    expect(seen.length).toBeLessThanOrEqual(count + 1);
    expect(seen[0]).toBe("41");
  });
});

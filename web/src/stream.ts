// A server-sent-events client over fetch (not EventSource): it sends Last-Event-ID itself on
// every reconnection, also after an error answer (EventSource gives up on a 502/503), and
// reports its state so that the page can say "reconnecting" instead of showing an error.

export interface SseEvent {
  id?: string;
  event: string;
  data: string;
}

// Incremental parser of the text/event-stream format (WHATWG HTML, "server-sent events"):
// lines end with CRLF, LF or CR; "field: value"; a blank line dispatches; ":" starts a comment.
export class SseParser {
  private buf = "";
  private data: string[] = [];
  private event = "";
  private id: string | undefined;
  lastId: string | undefined;
  retryMs: number | undefined;

  feed(chunk: string): SseEvent[] {
    this.buf += chunk;
    const out: SseEvent[] = [];
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buf);
      if (!m) break;
      // A lone CR at the very end may be the first half of a CRLF: wait for more.
      if (m[0] === "\r" && m.index === this.buf.length - 1) break;
      const line = this.buf.slice(0, m.index);
      this.buf = this.buf.slice(m.index + m[0].length);
      const ev = this.line(line);
      if (ev) out.push(ev);
    }
    return out;
  }

  private line(line: string): SseEvent | undefined {
    if (line === "") {
      if (this.id !== undefined) this.lastId = this.id;
      const ev = this.data.length ? { id: this.id, event: this.event || "message", data: this.data.join("\n") } : undefined;
      this.data = [];
      this.event = "";
      this.id = undefined;
      return ev;
    }
    if (line.startsWith(":")) return undefined;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") this.data.push(value);
    else if (field === "event") this.event = value;
    else if (field === "id" && !value.includes("\0")) this.id = value;
    else if (field === "retry" && /^\d+$/.test(value)) this.retryMs = Number(value);
    return undefined;
  }
}

export type StreamStatus = "connecting" | "open" | "reconnecting" | "closed";

export interface StreamOptions {
  url: string;
  onEvent: (e: SseEvent) => void;
  onStatus?: (s: StreamStatus) => void;
  lastEventId?: string;
  // Extra request headers, read again on every (re)connection (a bearer token is renewed).
  headers?: () => Record<string, string>;
  fetchImpl?: typeof fetch;
  minDelayMs?: number;
  maxDelayMs?: number;
}

export interface StreamHandle {
  close(): void;
  lastEventId(): string | undefined;
}

export function openStream(opts: StreamOptions): StreamHandle {
  const doFetch = opts.fetchImpl ?? fetch.bind(globalThis);
  const minDelay = opts.minDelayMs ?? 500;
  const maxDelay = opts.maxDelayMs ?? 5000;
  let lastId = opts.lastEventId;
  let closed = false;
  let controller: AbortController | undefined;
  let wake: (() => void) | undefined;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(t);
        resolve();
      };
    });

  async function once(): Promise<boolean> {
    controller = new AbortController();
    const headers: Record<string, string> = { ...(opts.headers?.() ?? {}), Accept: "text/event-stream", "Cache-Control": "no-cache" };
    if (lastId !== undefined) headers["Last-Event-ID"] = lastId;
    const res = await doFetch(opts.url, { headers, signal: controller.signal, cache: "no-store" });
    if (!res.ok || !res.body) return false;
    opts.onStatus?.("open");
    const parser = new SseParser();
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let got = false;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      for (const ev of parser.feed(decoder.decode(value, { stream: true }))) {
        if (ev.id !== undefined) lastId = ev.id;
        got = true;
        if (!closed) opts.onEvent(ev);
      }
      if (parser.lastId !== undefined) lastId = parser.lastId;
    }
    return got;
  }

  (async () => {
    let delay = minDelay;
    let first = true;
    while (!closed) {
      opts.onStatus?.(first ? "connecting" : "reconnecting");
      first = false;
      let healthy = false;
      try {
        healthy = await once();
      } catch {
        healthy = false;
      }
      if (closed) break;
      delay = healthy ? minDelay : Math.min(delay * 2, maxDelay);
      opts.onStatus?.("reconnecting");
      await sleep(healthy ? minDelay : delay);
    }
    opts.onStatus?.("closed");
  })();

  return {
    close() {
      closed = true;
      controller?.abort();
      wake?.();
    },
    lastEventId: () => lastId,
  };
}

import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { backoff, pollDeposit, type Deposit } from "./wallet";

const dep = (status: string): Deposit => ({ id: "dep1", amount: 5000, status });

describe("backoff", () => {
  it("doubles up to a cap and is bounded", () => {
    expect(backoff(6, 1000, 8000)).toEqual([1000, 2000, 4000, 8000, 8000, 8000]);
    expect(backoff().length).toBe(80);
    expect(backoff().reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(11 * 60_000);
  });
});

describe("pollDeposit", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("looks after each wait until the deposit leaves open, reporting every answer", async () => {
    const answers = [dep("open"), dep("open"), dep("succeeded")];
    const calls: number[] = [];
    const get = vi.fn(async () => {
      calls.push(Date.now());
      return answers.shift()!;
    });
    const seen: string[] = [];
    const start = Date.now();
    const done = pollDeposit(get, (d) => seen.push(d.status), new AbortController().signal, [100, 200, 400, 800]);
    await vi.advanceTimersByTimeAsync(99);
    expect(get).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(get).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(600);
    await expect(done).resolves.toBe("settled");
    expect(seen).toEqual(["open", "open", "succeeded"]);
    expect(calls.map((c) => c - start)).toEqual([100, 300, 700]);
  });

  it("survives failed looks and gives up after the last wait", async () => {
    let n = 0;
    const get = vi.fn(async () => {
      if (n++ % 2 === 0) throw new Error("network");
      return dep("open");
    });
    const seen: string[] = [];
    const done = pollDeposit(get, (d) => seen.push(d.status), new AbortController().signal, [10, 10, 10, 10]);
    await vi.advanceTimersByTimeAsync(100);
    await expect(done).resolves.toBe("gave_up");
    expect(get).toHaveBeenCalledTimes(4);
    expect(seen).toEqual(["open", "open"]);
  });

  it("stops at once when aborted (the page was left)", async () => {
    const ctl = new AbortController();
    const get = vi.fn(async () => dep("open"));
    const done = pollDeposit(get, () => undefined, ctl.signal, [1000, 1000]);
    await vi.advanceTimersByTimeAsync(500);
    ctl.abort();
    await expect(done).resolves.toBe("aborted");
    await vi.advanceTimersByTimeAsync(5000);
    expect(get).not.toHaveBeenCalled();
  });

  it("reports a failed payment as settled", async () => {
    const seen: string[] = [];
    const done = pollDeposit(async () => dep("failed"), (d) => seen.push(d.status), new AbortController().signal, [5]);
    await vi.advanceTimersByTimeAsync(5);
    await expect(done).resolves.toBe("settled");
    expect(seen).toEqual(["failed"]);
  });
});

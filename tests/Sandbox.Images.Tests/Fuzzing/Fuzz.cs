using CsCheck;

namespace Sandbox.Images.Tests.Fuzzing;

/// <summary>
/// The fuzzing budget and the byte-level mutator shared by the fuzz targets (docs/fuzzing.md). CI runs a bounded
/// number of iterations per target (a few seconds); <c>CsCheck_Time=600</c> or <c>CsCheck_Iter=100000</c> in the
/// environment turns every target into a long campaign, <c>CsCheck_Seed=…</c> replays a failure CsCheck reported.
/// </summary>
internal static class Fuzz
{
    /// <summary>Iterations for this run: <paramref name="ciIterations"/>, unless the environment asks for a campaign.</summary>
    public static long Iter(long ciIterations) =>
        Environment.GetEnvironmentVariable("CsCheck_Iter") is { Length: > 0 } || Environment.GetEnvironmentVariable("CsCheck_Time") is { Length: > 0 }
            ? -1 : ciIterations;

    /// <summary>One input longer than this is a hang (the inputs are small: a healthy iteration takes milliseconds).</summary>
    public static readonly TimeSpan HangLimit = TimeSpan.FromSeconds(30);

    /// <summary>Runs one iteration, failing it as a hang when it does not end within <see cref="HangLimit"/>.</summary>
    public static void WithinLimit(Action body)
    {
        var task = Task.Factory.StartNew(body, TaskCreationOptions.LongRunning);
        if (!task.Wait(HangLimit)) throw new TimeoutException($"hang: one input took more than {HangLimit.TotalSeconds} s");
    }

    private static readonly byte[] Interesting = [0, 0xff, 0x7f, 0x80, (byte)'/', (byte)'.', (byte)'0', (byte)'"', (byte)'{', (byte)'\n', (byte)' '];

    /// <summary>
    /// Seeds mutated the way afl's havoc stage does: byte flips, interesting values, truncation, insertion, a region
    /// duplicated or deleted. <paramref name="maxOps"/> mutations at most (0 keeps the seed as it is).
    /// </summary>
    public static Gen<byte[]> Mutated(IReadOnlyList<byte[]> seeds, int maxOps = 6) =>
        Gen.Select(Gen.Int[0, seeds.Count - 1], Gen.Select(Gen.Int[0, 5], Gen.UInt, Gen.UInt, Gen.Byte).Array[0, maxOps],
            (s, ops) => Apply(seeds[s], ops));

    private static byte[] Apply(byte[] seed, (int Kind, uint A, uint B, byte V)[] ops)
    {
        var data = new List<byte>(seed);
        foreach (var (kind, a, b, v) in ops)
        {
            int n = data.Count;
            int at = n == 0 ? 0 : (int)(a % (uint)n);
            switch (kind)
            {
                case 0 when n > 0: data[at] ^= (byte)(1 << (v & 7)); break;
                case 1 when n > 0: data[at] = Interesting[v % Interesting.Length]; break;
                case 2: data.RemoveRange(at, n - at); break;                       // truncate
                case 3: data.InsertRange(at, Enumerable.Repeat(v, (int)(b % 64) + 1)); break;
                case 4 when n > 0:                                                    // duplicate a region
                {
                    int len = (int)(b % (uint)Math.Min(n - at, 512)) + 1;
                    len = Math.Min(len, n - at);
                    data.InsertRange(at, data.GetRange(at, len));
                    break;
                }
                case 5 when n > 0:                                                    // delete a region
                {
                    int len = Math.Min((int)(b % 512) + 1, n - at);
                    data.RemoveRange(at, len);
                    break;
                }
            }
        }
        return data.ToArray();
    }

    /// <summary>A byte array for failure reports: length and a hex prefix (CsCheck prints the seed to replay it).</summary>
    public static string Print(byte[] b) => $"{b.Length} bytes: {Convert.ToHexString(b.AsSpan(0, Math.Min(b.Length, 64)))}…";
}

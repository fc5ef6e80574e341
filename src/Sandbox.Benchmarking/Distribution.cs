namespace Sandbox.Benchmarking;

/// <summary>Summary of a set of samples (milliseconds or bytes): median, p10, p90, min, max.</summary>
public sealed record Distribution(int Count, double Median, double P10, double P90, double Min, double Max)
{
    public static Distribution? Of(IEnumerable<double?> samples)
    {
        var sorted = samples.Where(s => s is not null).Select(s => s!.Value).Order().ToArray();
        if (sorted.Length == 0) return null;
        return new Distribution(sorted.Length, Percentile(sorted, 50), Percentile(sorted, 10), Percentile(sorted, 90), sorted[0], sorted[^1]);
    }

    /// <summary>Linear interpolation between closest ranks (the method numpy uses by default).</summary>
    public static double Percentile(IReadOnlyList<double> sorted, double percent)
    {
        if (sorted.Count == 1) return sorted[0];
        double rank = percent / 100.0 * (sorted.Count - 1);
        int lo = (int)Math.Floor(rank);
        int hi = Math.Min(lo + 1, sorted.Count - 1);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
    }
}

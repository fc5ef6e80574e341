using System.Diagnostics;

namespace Sandbox.Benchmarking;

/// <summary>
/// Runs every subject on the same image, interleaved (A B C, B C A, ...) so that drift on the machine hits all alike,
/// then measures one idle sandbox of each and the density of N started at once.
/// </summary>
public sealed class BenchRunner(IReadOnlyList<IBenchSubject> subjects, BenchOptions options, Action<string> progress)
{
    /// <summary>
    /// ENOSPC or EDQUOT (the errno is an IOException's HResult on Unix): a full /tmp or store is the host's problem, not
    /// a subject's failed run. It ends the bench (the caller cleans up each subject) rather than a report of failures.
    /// </summary>
    public static bool IsDiskFull(Exception e) => e is IOException { HResult: 28 or 122 } || (e.InnerException is { } inner && IsDiskFull(inner));

    public async Task<BenchReport> RunAsync(CancellationToken cancellationToken)
    {
        var notes = new List<string>();
        var ready = new List<IBenchSubject>();
        foreach (var s in subjects)
        {
            progress($"preparing {s.Name}");
            try
            {
                await s.PrepareAsync(cancellationToken).ConfigureAwait(false);
                ready.Add(s);
            }
            catch (Exception e) when (e is not OperationCanceledException && !IsDiskFull(e))
            {
                notes.Add($"{s.Name}: not measured: {e.Message}");
                progress($"{s.Name}: not measured: {e.Message}");
            }
        }

        var samples = new List<BootSample>();
        var failures = ready.ToDictionary(s => s.Name, _ => (Count: 0, First: (string?)null));
        // One unrecorded warm-up run each: page cache, first-use builds, libvirt's lazy init.
        for (int i = -1; i < options.Runs; i++)
        {
            for (int k = 0; k < ready.Count; k++)
            {
                var s = ready[(k + Math.Max(i, 0)) % ready.Count];
                try
                {
                    var sample = await s.RunOnceAsync(i, cancellationToken).ConfigureAwait(false);
                    if (i >= 0) samples.Add(sample);
                }
                catch (Exception e) when (e is not OperationCanceledException && !IsDiskFull(e))
                {
                    var f = failures[s.Name];
                    failures[s.Name] = (f.Count + 1, f.First ?? e.Message);
                }
            }
            if (i >= 0) progress($"boot runs: {i + 1}/{options.Runs}");
        }

        var footprints = new List<FootprintSample>();
        foreach (var s in ready)
        {
            progress($"footprint: {s.Name}");
            try
            {
                await using var idle = await s.StartIdleAsync(0, cancellationToken).ConfigureAwait(false);
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
                footprints.Add(idle.Measure());
            }
            catch (Exception e) when (e is not OperationCanceledException && !IsDiskFull(e))
            {
                notes.Add($"{s.Name}: footprint not measured: {e.Message}");
            }
        }

        var density = new List<DensitySample>();
        if (!options.SkipDensity)
        {
            foreach (var s in ready)
            {
                progress($"density: {options.Concurrency} x {s.Name}");
                density.Add(await MeasureDensityAsync(s, options.Concurrency, cancellationToken).ConfigureAwait(false));
            }
        }

        var load = new List<DensitySample>();
        foreach (var (count, name) in new[] { (options.LoadContainers, "sandbox (container)"), (options.LoadVms, "sandbox --vm") })
        {
            if (count <= 0 || ready.FirstOrDefault(s => s.Name == name) is not IBenchSubject subject) continue;
            progress($"load: {count} x {name} at once");
            load.Add(await MeasureDensityAsync(subject, count, cancellationToken).ConfigureAwait(false));
        }

        var summaries = ready.Select(s =>
        {
            var mine = samples.Where(x => x.Subject == s.Name).ToArray();
            return new SubjectSummary(s.Name, s.Description, mine.Select(x => x.Accelerator).FirstOrDefault(a => a is not null),
                Distribution.Of(mine.Select(x => x.InitMs)), Distribution.Of(mine.Select(x => x.ExecMs)),
                Distribution.Of(mine.Select(x => (double?)x.ExitMs)), Distribution.Of(mine.Select(x => x.GoneMs)),
                failures[s.Name].Count, failures[s.Name].First);
        }).ToArray();

        return new BenchReport
        {
            Date = DateTimeOffset.UtcNow,
            CommandLine = options.CommandLine,
            Machine = MachineInfo.Current(),
            Image = options.Image,
            Runs = options.Runs,
            Subjects = summaries,
            BootSamples = samples,
            Footprints = footprints,
            Density = density,
            Load = load,
            Notes = notes,
        };
    }

    /// <summary>
    /// Starts N idle sandboxes at once; stops early when the host memory they use exceeds the budget. Reports the time
    /// until all had started, the host memory they used, and the time to stop and remove them all.
    /// </summary>
    private async Task<DensitySample> MeasureDensityAsync(IBenchSubject subject, int count, CancellationToken cancellationToken)
    {
        long before = MachineInfo.AvailableMemoryBytes();
        var sw = Stopwatch.StartNew();
        var started = new List<IIdleSandbox>();
        string? stop = null;
        double seconds;
        long used, pss;
        try
        {
            var tasks = Enumerable.Range(0, count)
                .Select(i => subject.StartIdleAsync(i, cancellationToken))
                .ToArray();
            foreach (var t in tasks)
            {
                // Every task is awaited (a full disk included), so that each sandbox that did start is stopped below.
                try { started.Add(await t.ConfigureAwait(false)); }
                catch (Exception e) when (e is not OperationCanceledException) { stop ??= e.Message; }
            }
            seconds = sw.Elapsed.TotalSeconds;
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
            used = Math.Max(0, before - MachineInfo.AvailableMemoryBytes());
            pss = started.SelectMany(s => s.ProcessIds()).Distinct().Sum(Pss.OfProcess);
            if (used > options.DensityBudgetBytes) stop ??= $"memory budget of {options.DensityBudgetBytes >> 20} MiB exceeded";
        }
        finally
        {
            await Task.WhenAll(started.Select(s => s.DisposeAsync().AsTask())).ConfigureAwait(false);
        }
        var removed = sw.Elapsed.TotalSeconds - seconds - 1;
        return new DensitySample(subject.Name, count, started.Count, options.DensityBudgetBytes, used, seconds, stop)
        {
            RemoveSeconds = removed,
            PssBytes = pss,
        };
    }
}

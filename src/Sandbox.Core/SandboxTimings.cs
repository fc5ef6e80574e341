using System.Diagnostics;

namespace Sandbox.Core;

/// <summary>
/// Marks in a sandbox's life, as host CLOCK_MONOTONIC nanoseconds (the clock <see cref="Stopwatch"/> reads on Linux).
/// Marks taken inside a VM are aligned to the host clock by the backend. A mark not reached is null.
/// </summary>
public sealed class SandboxTimings
{
    /// <summary>The caller asked for the sandbox.</summary>
    public long Requested { get; set; }
    /// <summary>Namespaces created / domain started.</summary>
    public long? Created { get; set; }
    /// <summary>sandbox-init's first instruction.</summary>
    public long? InitStarted { get; set; }
    /// <summary>The workload's execve.</summary>
    public long? WorkloadStarted { get; set; }
    /// <summary>The workload's exit, as seen by init.</summary>
    public long? WorkloadExited { get; set; }
    /// <summary>Everything the sandbox made is gone (processes, mounts, cgroups / domain).</summary>
    public long? Destroyed { get; set; }

    /// <summary>How a micro-VM got its guest: "cold" (booted for this run) or "warm" (taken from the pool); null for containers.</summary>
    public string? Boot { get; set; }

    private readonly List<(string Name, long Ns)> _steps = [];

    /// <summary>
    /// The detailed steps of a run (absolute monotonic ns, the host's clock), in the order they were recorded: host
    /// steps (image, libvirt, hello, start) and, for a traced micro-VM run, the guest's (kernel log, init's steps).
    /// </summary>
    public IReadOnlyList<(string Name, long Ns)> Steps
    {
        get { lock (_steps) return [.. _steps]; }
    }

    /// <summary>
    /// Called with each step as it is recorded (name, absolute ns): a backend's start phases are its steps, so the one
    /// call that feeds <c>--timings-detail</c> also writes the phase's log line (docs/microvm.md, "Run, timing marks").
    /// </summary>
    public Action<string, long>? StepRecorded { get; set; }

    /// <summary>Records a step now (or at <paramref name="ns"/>); names are single words (no spaces, '@' or ',').</summary>
    public void Step(string name, long? ns = null)
    {
        long at = ns ?? Now();
        lock (_steps) _steps.Add((name, at));
        StepRecorded?.Invoke(name, at);
    }

    public static long Now() => (long)(Stopwatch.GetTimestamp() * (1_000_000_000.0 / Stopwatch.Frequency));

    /// <summary>Milliseconds from <see cref="Requested"/> to a mark, or null.</summary>
    public double? SinceRequest(long? mark) => mark is long m ? (m - Requested) / 1e6 : null;

    /// <summary>
    /// The marks as one machine-readable line (<c>sandbox run --timings-raw</c>), absolute monotonic ns, so a harness
    /// in another process can relate them to its own clock: <c>sandbox-timings requested=… created=… … accel=tcg</c>.
    /// </summary>
    public string ToRawLine(string? accelerator)
    {
        static string V(long? v) => v?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-";
        return $"sandbox-timings requested={V(Requested)} created={V(Created)} init={V(InitStarted)} exec={V(WorkloadStarted)} " +
               $"exit={V(WorkloadExited)} gone={V(Destroyed)} accel={accelerator ?? "-"} boot={Boot ?? "-"}" +
               (Steps is { Count: > 0 } steps
                   ? " steps=" + string.Join(",", steps.Select(s => $"{s.Name}@{s.Ns.ToString(System.Globalization.CultureInfo.InvariantCulture)}"))
                   : "");
    }

    /// <summary>Parses a line written by <see cref="ToRawLine"/>; false for any other line.</summary>
    public static bool TryParseRawLine(string line, out SandboxTimings timings, out string? accelerator)
    {
        timings = new SandboxTimings();
        accelerator = null;
        if (!line.StartsWith("sandbox-timings ", StringComparison.Ordinal)) return false;
        foreach (var field in line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1))
        {
            var kv = field.Split('=', 2);
            if (kv.Length != 2) return false;
            long? v = long.TryParse(kv[1], System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out long n) ? n : null;
            switch (kv[0])
            {
                case "requested": timings.Requested = v ?? 0; break;
                case "created": timings.Created = v; break;
                case "init": timings.InitStarted = v; break;
                case "exec": timings.WorkloadStarted = v; break;
                case "exit": timings.WorkloadExited = v; break;
                case "gone": timings.Destroyed = v; break;
                case "accel": accelerator = kv[1] == "-" ? null : kv[1]; break;
                case "boot": timings.Boot = kv[1] == "-" ? null : kv[1]; break;
                case "steps":
                    foreach (var step in kv[1].Split(',', StringSplitOptions.RemoveEmptyEntries))
                    {
                        var nameAt = step.Split('@', 2);
                        if (nameAt.Length == 2 && long.TryParse(nameAt[1], System.Globalization.NumberStyles.Integer,
                                System.Globalization.CultureInfo.InvariantCulture, out long at))
                            timings.Step(nameAt[0], at);
                    }
                    break;
            }
        }
        return true;
    }

    public IEnumerable<(string Name, double? Milliseconds)> Phases()
    {
        yield return ("created", SinceRequest(Created));
        yield return ("init started", SinceRequest(InitStarted));
        yield return ("workload exec", SinceRequest(WorkloadStarted));
        yield return ("workload exit", SinceRequest(WorkloadExited));
        yield return ("destroyed", SinceRequest(Destroyed));
    }

    /// <summary>The steps in time order, each with ms since <see cref="Requested"/>.</summary>
    public IEnumerable<(string Name, double Milliseconds)> StepsSinceRequest() =>
        Steps.OrderBy(s => s.Ns).Select(s => (s.Name, (s.Ns - Requested) / 1e6));
}

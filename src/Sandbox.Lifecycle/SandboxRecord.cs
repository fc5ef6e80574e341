using Sandbox.Core;

namespace Sandbox.Lifecycle;

/// <summary>
/// A sandbox's state, <c>run/&lt;id&gt;/state.json</c>. Written whole to a temporary file and renamed over the old one,
/// so a reader sees the old or the new state, never half of one.
/// </summary>
public sealed record SandboxRecord
{
    public required string Id { get; init; }
    public string? Name { get; init; }

    /// <summary>The image reference as given.</summary>
    public required string Image { get; init; }

    /// <summary>The image's manifest digest when the sandbox was created; starts use it, so a retag does not change the sandbox.</summary>
    public string? ImageDigest { get; init; }

    public Isolation Isolation { get; init; }

    /// <summary>"kvm" or "tcg" for a VM once started; null for a container.</summary>
    public string? Accelerator { get; init; }

    public SandboxStatus Status { get; init; }

    /// <summary>The process holding the running sandbox (a detached owner, or the CLI of a foreground run).</summary>
    public OwnerIdentity? Owner { get; init; }

    /// <summary>True when a detached owner holds it (its output goes to the log); false for a foreground run.</summary>
    public bool Detached { get; init; }

    /// <summary>
    /// A detached container held by its sandbox-init (no owner process; <see cref="Owner"/> is init): its exit is in
    /// <c>exit.json</c> until folded in here; pause, unpause and stats are done by the CLI on the cgroup.
    /// </summary>
    public bool HeldByInit { get; init; }

    /// <summary>sandbox-init's host pid (containers).</summary>
    public int? InitPid { get; init; }

    /// <summary>The libvirt domain's name (VMs).</summary>
    public string? Domain { get; init; }
    /// <summary>Micro-VM: "warm" when its guest came from the warm pool, "cold" when booted for it (docs/microvm.md).</summary>
    public string? Boot { get; init; }

    public int? ExitCode { get; init; }
    public int? ExitSignal { get; init; }
    public bool OomKilled { get; init; }

    /// <summary>Why the sandbox stopped without an exit status (a start failure, a dead owner).</summary>
    public string? Error { get; init; }

    public DateTimeOffset Created { get; init; }
    public DateTimeOffset? Started { get; init; }
    public DateTimeOffset? Finished { get; init; }

    /// <summary>How many times it was started.</summary>
    public int StartCount { get; init; }

    /// <summary>The spec it was created with (image defaults are merged at start, by the backend).</summary>
    public required SandboxSpec Spec { get; init; }

    /// <summary>docker's status text: "Up 3 minutes", "Exited (0) 2 seconds ago", "Created", "Up 1 minute (Paused)".</summary>
    public string StatusText(DateTimeOffset now) => Status switch
    {
        SandboxStatus.Created => "Created",
        SandboxStatus.Running => $"Up {Ago(now - (Started ?? now))}",
        SandboxStatus.Paused => $"Up {Ago(now - (Started ?? now))} (Paused)",
        _ => ExitCode is not null || ExitSignal is not null
            ? $"Exited ({ShellCode}) {Ago(now - (Finished ?? now))} ago"
            : $"Exited (unknown) {Ago(now - (Finished ?? now))} ago",
    };

    /// <summary>The code <c>wait</c> prints: the exit code, 128+signal, or 255 when nothing is known.</summary>
    public int ShellCode => ExitCode ?? (ExitSignal is int s ? 128 + s : 255);

    private static string Ago(TimeSpan t) =>
        t.TotalSeconds < 1 ? "Less than a second"
        : t.TotalSeconds < 60 ? $"{(int)t.TotalSeconds} second{(t.TotalSeconds >= 2 ? "s" : "")}"
        : t.TotalMinutes < 60 ? $"{(int)t.TotalMinutes} minute{(t.TotalMinutes >= 2 ? "s" : "")}"
        : t.TotalHours < 48 ? $"{(int)t.TotalHours} hour{(t.TotalHours >= 2 ? "s" : "")}"
        : $"{(int)t.TotalDays} days";
}

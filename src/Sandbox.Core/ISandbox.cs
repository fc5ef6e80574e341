namespace Sandbox.Core;

/// <summary>A running (or finished) sandbox. Disposing it removes everything it made, whatever state it is in.</summary>
public interface ISandbox : IAsyncDisposable
{
    string Id { get; }

    Isolation Isolation { get; }

    /// <summary>The accelerator a VM runs under ("kvm" or "tcg"); null for a container.</summary>
    string? Accelerator { get; }

    SandboxTimings Timings { get; }

    /// <summary>Waits for the workload to end and its output to be flushed.</summary>
    Task<ExitStatus> WaitAsync(CancellationToken cancellationToken = default);

    /// <summary>Sends a signal to the workload (forwarded by sandbox-init).</summary>
    Task SignalAsync(int signal, CancellationToken cancellationToken = default);

    /// <summary>Ends the sandbox at once (SIGKILL to every process / destroy the domain).</summary>
    Task KillAsync(CancellationToken cancellationToken = default);

    /// <summary>Tells a tty workload its terminal's new size.</summary>
    Task ResizeTtyAsync(ushort rows, ushort columns, CancellationToken cancellationToken = default);

    /// <summary>Freezes every process of the sandbox (freezer cgroup / suspended domain).</summary>
    Task PauseAsync(CancellationToken cancellationToken = default);

    /// <summary>Thaws what <see cref="PauseAsync"/> froze.</summary>
    Task ResumeAsync(CancellationToken cancellationToken = default);

    Task<SandboxStats> GetStatsAsync(CancellationToken cancellationToken = default);
}

namespace Sandbox.Core;

/// <summary>
/// A running (or finished) sandbox, the same shape in both backends. The sandbox lives as long as its main workload:
/// when the workload ends, every process in the sandbox is killed (docker's semantics).
/// Disposing it kills whatever still runs and removes everything it made on the host (processes, mounts, cgroups /
/// the domain, the run directory; the writable layer of a container too when <see cref="SandboxSpec.Remove"/>);
/// it is idempotent and safe on every path, failure and Ctrl-C included.
/// </summary>
public interface ISandbox : IAsyncDisposable
{
    string Id { get; }

    Isolation Isolation { get; }

    /// <summary>How the sandbox's code runs: <see cref="Accelerator.None"/> for a container, KVM or TCG for a VM.</summary>
    Accelerator Accelerator { get; }

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

    /// <summary>
    /// Starts a process in the running sandbox (<c>sandbox exec</c>): same namespaces, cgroup, seccomp filter,
    /// capabilities, no_new_privs; user, working directory and environment as docker's exec resolves them. Returns once
    /// the process has been exec'd. Throws <see cref="SandboxException"/>: <see cref="SandboxFailure.NotRunning"/>
    /// when the workload has already ended, <see cref="SandboxFailure.CommandNotFound"/> (127) /
    /// <see cref="SandboxFailure.CommandNotExecutable"/> (126) / <see cref="SandboxFailure.InvalidSpec"/> when init
    /// cannot start it. With <see cref="SandboxStdio.Inherit"/> and <see cref="ExecSpec.Tty"/>, the caller's terminal is
    /// put in raw mode for the process's life.
    /// </summary>
    Task<ISandboxProcess> ExecAsync(ExecSpec spec, SandboxStdio stdio, CancellationToken cancellationToken = default);

    /// <summary>
    /// The sandbox's footprint. <see cref="SandboxStats.MemoryBytes"/> is the workload's memory in both backends;
    /// what the host keeps alive for it (init, qemu) is <see cref="SandboxStats.HostOverheadPssBytes"/>.
    /// </summary>
    Task<SandboxStats> GetStatsAsync(CancellationToken cancellationToken = default);
}

namespace Sandbox.Core;

/// <summary>
/// A process started in a running sandbox by <see cref="ISandbox.ExecAsync"/>. It lives in the sandbox's namespaces,
/// cgroup and security profile; it ends when it exits, or when the sandbox's main workload ends (docker's semantics:
/// the sandbox and everything in it go with the workload, and the process then reports SIGKILL).
/// Disposing it stops forwarding its streams and kills it (SIGKILL) if it is still running.
/// </summary>
public interface ISandboxProcess : IAsyncDisposable
{
    /// <summary>The process's id within its sandbox's protocol session (1, 2, …; 0 is the main workload).</summary>
    int Id { get; }

    /// <summary>Waits for the process to end and its output to be delivered.</summary>
    Task<ExitStatus> WaitAsync(CancellationToken cancellationToken = default);

    /// <summary>Sends a signal to the process (delivered by sandbox-init); nothing happens once it has ended.</summary>
    Task SignalAsync(int signal, CancellationToken cancellationToken = default);

    /// <summary>Tells a <c>-t</c> process its terminal's new size.</summary>
    Task ResizeTtyAsync(ushort rows, ushort columns, CancellationToken cancellationToken = default);
}

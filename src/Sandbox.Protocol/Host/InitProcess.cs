using Sandbox.Core;
using Sandbox.Interop.Libc;

namespace Sandbox.Protocol.Host;

/// <summary>
/// The host's view of one process init runs (the main workload, id 0, or an exec'd one): its start, its output, its
/// stdin pump and its exit, all driven by <see cref="InitSession"/>'s frames.
/// </summary>
public sealed class InitProcess : ISandboxProcess
{
    private readonly InitSession _session;
    private readonly HostStreams _streams;
    private readonly bool _interactive;
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<ExitStatus> _exit = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stop = new();
    private Terminals.SavedMode? _raw;
    private int _disposed;

    internal InitProcess(InitSession session, uint id, HostStreams streams, bool interactive)
    {
        _session = session;
        ProcessId = id;
        _streams = streams;
        _interactive = interactive;
    }

    public uint ProcessId { get; }
    public int Id => (int)ProcessId;

    /// <summary>The process's pid inside the sandbox (exec'd processes; 0 until started).</summary>
    public int PidInSandbox { get; private set; }

    /// <summary>Completes once the process has been exec'd; faults with the reason it could not be.</summary>
    public Task Started => _started.Task;

    /// <summary>The exit init reported (or a fault when the channel ended first).</summary>
    public Task<ExitStatus> Exit => _exit.Task;

    /// <summary>True once init reported this process's exit (as opposed to the channel breaking).</summary>
    public bool ExitReported { get; private set; }

    public Task<ExitStatus> WaitAsync(CancellationToken cancellationToken = default) => _exit.Task.WaitAsync(cancellationToken);

    public Task SignalAsync(int signal, CancellationToken cancellationToken = default) =>
        _exit.Task.IsCompleted ? Task.CompletedTask : _session.SendAsync(MessageType.Signal, ProcessId, Payload.Int32(signal), cancellationToken);

    public Task ResizeTtyAsync(ushort rows, ushort columns, CancellationToken cancellationToken = default) =>
        _exit.Task.IsCompleted ? Task.CompletedTask : _session.SendAsync(MessageType.Resize, ProcessId, Payload.Resize(rows, columns), cancellationToken);

    /// <summary>After the start: raw terminal and the stdin pump, as the caller asked.</summary>
    internal void BeginStreams()
    {
        if (_streams.RawTerminal && !_exit.Task.IsCompleted)
        {
            try { _raw = Terminals.MakeRaw(new SafeFd(0, false)); } catch (ErrnoException) { }
        }
        if (!_interactive) return;
        var stdin = _streams.Stdin;
        var token = _stop.Token;
        // Not awaited by anyone: a read of the caller's terminal cannot be interrupted; it ends with its next read,
        // writing to a process or channel that is gone.
        _ = Task.Run(async () =>
        {
            try
            {
                if (stdin is not null)
                {
                    var buffer = new byte[32 * 1024];
                    int n;
                    while ((n = await stdin.ReadAsync(buffer, token).ConfigureAwait(false)) > 0)
                        await _session.SendAsync(MessageType.Stdin, ProcessId, buffer.AsMemory(0, n), token).ConfigureAwait(false);
                }
                if (!_exit.Task.IsCompleted)
                    await _session.SendAsync(MessageType.StdinClose, ProcessId, ReadOnlyMemory<byte>.Empty, token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException or SandboxException) { }
        }, CancellationToken.None);
    }

    internal async ValueTask WriteOutputAsync(bool stderr, byte[] data)
    {
        var stream = stderr ? _streams.Stderr : _streams.Stdout;
        if (stream is null) return;
        try
        {
            await stream.WriteAsync(data).ConfigureAwait(false);
            await stream.FlushAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or NotSupportedException) { /* the reader went away */ }
    }

    internal void OnStarted(int pid)
    {
        PidInSandbox = pid;
        _started.TrySetResult();
    }

    internal void OnExited(ExitStatus status)
    {
        ExitReported = true;
        _started.TrySetResult();
        End();
        _exit.TrySetResult(status);
    }

    /// <summary>init could not start it (before the start) or failed it afterwards.</summary>
    internal void OnError(SandboxException error)
    {
        _started.TrySetException(error);
        End();
        _exit.TrySetException(error);
    }

    /// <summary>The channel ended without an exit report: exec'd processes died with the sandbox.</summary>
    internal void OnSessionEnded(SandboxException notStarted, SandboxException? mainFailure)
    {
        _started.TrySetException(notStarted);
        End();
        if (mainFailure is not null) _exit.TrySetException(mainFailure);
        else _exit.TrySetResult(ExitStatus.Killed(9));
    }

    private void End()
    {
        _raw?.Restore();
        _raw = null;
        _stop.Cancel();
    }

    /// <summary>Stops forwarding; a process still running is killed (SIGKILL) and awaited briefly.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        if (!_exit.Task.IsCompleted && _started.Task.IsCompletedSuccessfully)
        {
            try
            {
                await SignalAsync(9).ConfigureAwait(false);
                await _exit.Task.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or TimeoutException or SandboxException) { }
        }
        End();
        _session.Forget(this);
    }
}

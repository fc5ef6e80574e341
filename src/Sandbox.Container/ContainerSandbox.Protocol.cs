using Sandbox.Core;
using Sandbox.Protocol;

namespace Sandbox.Container;

public sealed partial class ContainerSandbox
{
    /// <summary>Handles init's frames until it hangs up: marks, output, the exit report or a start failure.</summary>
    private async Task ReceiveAsync(Stream control, SandboxStdio stdio, bool channel)
    {
        var reader = new FrameReader(control);
        try
        {
            while (await reader.ReadAsync().ConfigureAwait(false) is Frame frame)
            {
                switch (frame.Type)
                {
                    case MessageType.Mark:
                        var mark = MarkMessage.Decode(frame.Payload);
                        // No time namespace: init's CLOCK_MONOTONIC is the host's.
                        switch (mark.Kind)
                        {
                            case MarkKind.InitStarted: Timings.InitStarted = mark.MonotonicNs; break;
                            case MarkKind.WorkloadStarted:
                                // Sent once the workload's execve succeeded.
                                Timings.WorkloadStarted = mark.MonotonicNs;
                                _started.TrySetResult();
                                break;
                            case MarkKind.WorkloadExited: Timings.WorkloadExited = mark.MonotonicNs; break;
                        }
                        break;
                    case MessageType.Stdout when channel:
                        if (stdio.Stdout is not null) await stdio.Stdout.WriteAsync(frame.Payload).ConfigureAwait(false);
                        break;
                    case MessageType.Stderr when channel:
                        if (stdio.Stderr is not null) await stdio.Stderr.WriteAsync(frame.Payload).ConfigureAwait(false);
                        break;
                    case MessageType.Exited:
                        _exit = ExitMessage.Decode(frame.Payload);
                        _started.TrySetResult();
                        break;
                    case MessageType.Error:
                        var error = ToException(ErrorMessage.Decode(frame.Payload));
                        if (!_started.TrySetException(error)) _failure = error; // after the start: WaitAsync throws it
                        break;
                }
            }
        }
        catch (Exception e) when (e is IOException or ProtocolException or ObjectDisposedException)
        {
            // The connection broke: init died. WaitAsync reports how from its wait status.
        }
        finally
        {
            _started.TrySetException(new SandboxException(SandboxFailure.Init, "sandbox-init ended before starting the workload"));
        }
    }

    private SandboxException ToException(ErrorMessage error)
    {
        var reason = error.Failure switch
        {
            InitFailure.CommandNotFound => SandboxFailure.CommandNotFound,
            InitFailure.CommandNotExecutable => SandboxFailure.CommandNotExecutable,
            InitFailure.Rootfs => SandboxFailure.Rootfs,
            InitFailure.Spec or InitFailure.User or InitFailure.WorkingDir => SandboxFailure.InvalidSpec,
            _ => SandboxFailure.Init,
        };
        return new SandboxException(reason, error.Message);
    }
}

using System.Runtime.InteropServices;
using Sandbox.Core;

namespace Sandbox.Cli;

/// <summary>
/// A foreground run's Ctrl-C, SIGTERM and SIGHUP go to the workload (docker's sig-proxy). The handlers are installed
/// before the sandbox starts: the workload can run (and print) before the start returns to the CLI, and a signal in
/// that window must not kill the CLI with its default action. A signal that arrives before the workload exists is
/// held and delivered as soon as it does; a second one before that gives up the start (<see cref="StartAborted"/>),
/// so a start that hangs (a VM that never boots) can still be interrupted, and the start's own cleanup runs.
/// </summary>
internal sealed class SignalRelay : IDisposable
{
    private readonly object _gate = new();
    private readonly List<int> _pending = [];
    private readonly List<PosixSignalRegistration> _registrations = [];
    private readonly CancellationTokenSource _abort;
    private ISandbox? _target;

    /// <summary>Cancelled by a second signal before the workload runs.</summary>
    public CancellationToken StartAborted => _abort.Token;

    public SignalRelay(CancellationToken ct)
    {
        _abort = CancellationTokenSource.CreateLinkedTokenSource(ct);
        foreach (var (posix, number) in new[] { (PosixSignal.SIGINT, 2), (PosixSignal.SIGTERM, 15), (PosixSignal.SIGHUP, 1) })
        {
            _registrations.Add(PosixSignalRegistration.Create(posix, context =>
            {
                context.Cancel = true;
                Deliver(number);
            }));
        }
    }

    /// <summary>The workload runs: deliver what was held, then forward as signals come.</summary>
    public void Attach(ISandbox sandbox)
    {
        int[] held;
        lock (_gate)
        {
            _target = sandbox;
            held = [.. _pending];
            _pending.Clear();
        }
        foreach (var signal in held) _ = sandbox.SignalAsync(signal, CancellationToken.None);
    }

    private void Deliver(int signal)
    {
        ISandbox? target;
        bool giveUp = false;
        lock (_gate)
        {
            target = _target;
            if (target is null)
            {
                _pending.Add(signal);
                giveUp = _pending.Count > 1;
            }
        }
        if (target is null)
        {
            if (giveUp) _abort.Cancel();
            return;
        }
        _ = target.SignalAsync(signal, CancellationToken.None);
    }

    public void Dispose()
    {
        foreach (var r in _registrations) r.Dispose();
        _abort.Dispose();
    }
}

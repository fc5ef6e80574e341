using System.Globalization;
using Microsoft.Extensions.Logging;
using Sandbox.Core;
using Sandbox.Interop.Libvirt;
using Sandbox.Protocol;

namespace Sandbox.MicroVm;

/// <summary>
/// One sandbox running in a micro-VM. Frames from init drive it: stdout/stderr go to the caller's streams, marks fill
/// <see cref="Timings"/>, and Exited (or Error) ends the run; the domain is destroyed right then, without waiting for
/// the guest's own reset, so no domain outlives the run.
/// </summary>
public sealed partial class MicroVmSandbox : ISandbox
{
    private readonly GuestDomain _guest;
    private readonly IImageLease _image;
    private readonly SandboxStdio _stdio;
    private readonly long _guestMemoryBytes;
    private readonly ILogger _log;
    private readonly TaskCompletionSource<ExitStatus> _exit = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stop = new();
    private Task _frames = Task.CompletedTask;
    private Task _stdin = Task.CompletedTask;
    private Task? _destroy;
    private int _disposed;

    internal MicroVmSandbox(string id, GuestDomain guest, IImageLease image, SandboxStdio stdio, Accelerator accelerator,
        long guestMemoryBytes, SandboxTimings timings, ILogger log)
    {
        Id = id;
        _guest = guest;
        _image = image;
        _stdio = stdio;
        _guestMemoryBytes = guestMemoryBytes;
        _log = log;
        Timings = timings;
        Accelerator = accelerator == MicroVm.Accelerator.Kvm ? "kvm" : "tcg";
    }

    public string Id { get; }
    public Isolation Isolation => Isolation.Vm;
    public string? Accelerator { get; }
    public SandboxTimings Timings { get; }

    /// <summary>The libvirt domain's name (<c>sandbox-&lt;id&gt;</c>).</summary>
    public string DomainName => _guest.Name;

    /// <summary>Sends Start and begins moving frames; called once by the runtime after the guest said Hello.</summary>
    internal async Task StartAsync(InitSpec spec, CancellationToken cancellationToken)
    {
        await _guest.Writer.WriteAsync(MessageType.Start, Payload.Spec(spec), cancellationToken).ConfigureAwait(false);
        OnStartSent();
        var stdout = _stdio.IsInherited ? Console.OpenStandardOutput() : _stdio.Stdout;
        var stderr = _stdio.IsInherited ? Console.OpenStandardError() : _stdio.Stderr;
        _frames = Task.Run(() => ReadFramesAsync(stdout, stderr));
        var stdin = _stdio.IsInherited ? (spec.Interactive ? Console.OpenStandardInput() : null) : _stdio.Stdin;
        _stdin = Task.Run(() => ForwardStdinAsync(spec.Interactive ? stdin : null));
    }

    private async Task ReadFramesAsync(Stream? stdout, Stream? stderr)
    {
        try
        {
            while (true)
            {
                var frame = await _guest.Reader.ReadAsync(_stop.Token).ConfigureAwait(false);
                if (frame is not Frame f)
                {
                    _exit.TrySetException(new SandboxException(SandboxFailure.Init,
                        $"micro-VM {_guest.Name} ended before reporting the workload's exit{_guest.ConsoleTail()}"));
                    return;
                }
                switch (f.Type)
                {
                    case MessageType.Stdout:
                        await WriteAsync(stdout, f.Payload).ConfigureAwait(false);
                        break;
                    case MessageType.Stderr:
                        await WriteAsync(stderr, f.Payload).ConfigureAwait(false);
                        break;
                    case MessageType.Mark:
                        OnMark(MarkMessage.Decode(f.Payload));
                        break;
                    case MessageType.Exited:
                        var m = ExitMessage.Decode(f.Payload);
                        Timings.WorkloadExited ??= SandboxTimings.Now();
                        _destroy = DestroyNowAsync();
                        _exit.TrySetResult(m.Signal != 0 ? ExitStatus.Killed(m.Signal, m.OomKilled) : ExitStatus.Exited(m.Code));
                        return;
                    case MessageType.Error:
                        var e = ErrorMessage.Decode(f.Payload);
                        _destroy = DestroyNowAsync();
                        _exit.TrySetException(new SandboxException(FailureOf(e.Failure), e.Message));
                        return;
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            _exit.TrySetException(new SandboxException(SandboxFailure.Init, $"micro-VM {_guest.Name} was stopped"));
        }
        catch (Exception e) when (e is IOException or ProtocolException or ObjectDisposedException)
        {
            _exit.TrySetException(new SandboxException(SandboxFailure.Init, $"micro-VM {_guest.Name}: channel to init failed: {e.Message}", e));
        }
    }

    private static async Task WriteAsync(Stream? stream, byte[] data)
    {
        if (stream is null) return;
        await stream.WriteAsync(data).ConfigureAwait(false);
        await stream.FlushAsync().ConfigureAwait(false);
    }

    private void OnMark(MarkMessage mark)
    {
        long host = mark.MonotonicNs + _guest.ClockOffset;
        switch (mark.Kind)
        {
            case MarkKind.InitStarted: Timings.InitStarted = host; break;
            case MarkKind.WorkloadStarted: Timings.WorkloadStarted = host; break;
            case MarkKind.WorkloadExited: Timings.WorkloadExited = host; break;
        }
    }

    private async Task ForwardStdinAsync(Stream? stdin)
    {
        try
        {
            if (stdin is not null)
            {
                var buffer = new byte[64 * 1024];
                int n;
                while ((n = await stdin.ReadAsync(buffer, _stop.Token).ConfigureAwait(false)) > 0)
                    await _guest.Writer.WriteAsync(MessageType.Stdin, buffer.AsMemory(0, n), _stop.Token).ConfigureAwait(false);
            }
            await _guest.Writer.WriteAsync(MessageType.StdinClose, ReadOnlyMemory<byte>.Empty, _stop.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException)
        {
            // The run ended (or the guest went away) while stdin was still open: nothing more to forward.
        }
    }

    private static SandboxFailure FailureOf(InitFailure failure) => failure switch
    {
        InitFailure.CommandNotFound => SandboxFailure.CommandNotFound,
        InitFailure.CommandNotExecutable => SandboxFailure.CommandNotExecutable,
        InitFailure.Rootfs => SandboxFailure.Rootfs,
        InitFailure.Spec or InitFailure.User or InitFailure.WorkingDir => SandboxFailure.InvalidSpec,
        _ => SandboxFailure.Init,
    };

    private async Task DestroyNowAsync()
    {
        await _guest.DestroyAsync().ConfigureAwait(false);
        Timings.Destroyed = SandboxTimings.Now();
        MicroVmLog.DomainDestroyed(_log, _guest.Name);
    }

    public Task<ExitStatus> WaitAsync(CancellationToken cancellationToken = default) => _exit.Task.WaitAsync(cancellationToken);

    public Task SignalAsync(int signal, CancellationToken cancellationToken = default) =>
        _exit.Task.IsCompleted ? Task.CompletedTask
        : _guest.Writer.WriteAsync(MessageType.Signal, Payload.Int32(signal), cancellationToken).AsTask();

    public async Task KillAsync(CancellationToken cancellationToken = default)
    {
        _destroy ??= DestroyNowAsync();
        await _destroy.WaitAsync(cancellationToken).ConfigureAwait(false);
        _exit.TrySetResult(ExitStatus.Killed(9));
    }

    public Task ResizeTtyAsync(ushort rows, ushort columns, CancellationToken cancellationToken = default) =>
        _exit.Task.IsCompleted ? Task.CompletedTask
        : _guest.Writer.WriteAsync(MessageType.Resize, Payload.Resize(rows, columns), cancellationToken).AsTask();

    /// <summary>qemu's PSS on the host (its whole cost, guest RAM it touched included) and the guest's configured size.</summary>
    public Task<SandboxStats> GetStatsAsync(CancellationToken cancellationToken = default) => Task.Run(() =>
    {
        long pss = _guest.QemuPid() is int pid ? QemuFootprint.PssBytes(pid) ?? 0 : 0;
        var cpu = TimeSpan.Zero;
        long rss = pss;
        if (_guest.Domain is LibvirtDomain d)
        {
            try
            {
                cpu = d.GetInfo().CpuTime;
                if (d.GetMemoryStats().TryGetValue(DomainMemoryStat.Rss, out long rssKib)) rss = rssKib * 1024;
            }
            catch (LibvirtException) { /* the domain ended meanwhile: report what the host still shows */ }
        }
        return new SandboxStats(rss, pss, cpu, _guestMemoryBytes);
    }, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _destroy ??= DestroyNowAsync();
        await _destroy.ConfigureAwait(false);
        _stop.Cancel();
        await _guest.DisposeAsync().ConfigureAwait(false);
        await DetachNetworkAsync().ConfigureAwait(false);
        // Not the stdin pump: it may sit in a read(2) of the caller's terminal that no token interrupts; it ends
        // with its next read, writing to a closed channel.
        try { await _frames.ConfigureAwait(false); }
        catch (Exception e) when (e is OperationCanceledException or IOException) { }
        _image.Dispose();
        _stop.Dispose();
        _exit.TrySetException(new SandboxException(SandboxFailure.Init, $"micro-VM {_guest.Name} was removed"));
    }

    internal static string FormatId(string id) => string.Create(CultureInfo.InvariantCulture, $"sandbox-{id}");
}

using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using Sandbox.Core;
using Sandbox.Interop.Libc;

namespace Sandbox.MicroVm.Pool;

/// <summary>How a member's holder let go of it.</summary>
public enum PoolMemberEnd { Claimed, Drained, GuestGone, Cancelled }

/// <summary>
/// The holder's side of one warm pool member (docs/microvm.md, "Warm pool"): a guest booted up to init's "ready,
/// waiting for Start" (its Hello read, the channel kept connected), paused unless told otherwise, its run directory
/// owned by this process. <see cref="ServeAsync"/> answers one claim (hand the guest over and stop) or a drain
/// (destroy it); a guest that dies meanwhile ends the member too.
/// </summary>
public sealed class PoolMember : IAsyncDisposable
{
    private readonly GuestDomain _guest;
    private readonly SandboxDirectory _dir;
    private readonly IImageLease _image;
    private readonly ILogger _log;
    private readonly string _root;
    private int _disposed;

    /// <param name="root">The store the member and its claimers belong to (recorded with the claimer as owner).</param>
    internal PoolMember(PoolMemberRecord record, GuestDomain guest, SandboxDirectory dir, IImageLease image, string root, ILogger log)
    {
        _root = root;
        Record = record;
        _guest = guest;
        _dir = dir;
        _image = image;
        _log = log;
    }

    public PoolMemberRecord Record { get; }

    public async Task<PoolMemberEnd> ServeAsync(CancellationToken cancellationToken)
    {
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(_dir.PathOf(PoolMemberRecord.SocketName)));
        listener.Listen(8);
        using var stopWatch = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        // Wakes the watcher's poll(2) at once when a claim or drain arrives (a claim waits for the watcher to let go).
        using var wake = Files.EventFd();
        using var wakeOnStop = stopWatch.Token.Register(() => Files.EventFdSignal(wake));
        var gone = Task.Run(() => WatchChannel(wake, stopWatch.Token), CancellationToken.None);
        try
        {
            while (true)
            {
                var accept = listener.AcceptAsync(cancellationToken).AsTask();
                if (await Task.WhenAny(accept, gone).ConfigureAwait(false) == gone)
                {
                    MicroVmLog.PoolMemberEnded(_log, Record.Id, "its guest ended");
                    return PoolMemberEnd.GuestGone;
                }
                Socket client;
                try { client = await accept.ConfigureAwait(false); }
                catch (OperationCanceledException) { return PoolMemberEnd.Cancelled; }
                using (client)
                {
                    var request = await ReadLineAsync(client, cancellationToken).ConfigureAwait(false);
                    if (request == "drain")
                    {
                        await stopWatch.CancelAsync().ConfigureAwait(false);
                        await _guest.DestroyAsync().ConfigureAwait(false);
                        client.Send("ok\n"u8);
                        MicroVmLog.PoolMemberEnded(_log, Record.Id, "drained");
                        return PoolMemberEnd.Drained;
                    }
                    if (request?.Split(' ', 5) is ["claim", var pid, var start, var boot, var console]
                        && int.TryParse(pid, out int claimerPid) && long.TryParse(start, out long claimerStart))
                    {
                        await stopWatch.CancelAsync().ConfigureAwait(false);
                        await gone.ConfigureAwait(false);
                        await HandOverAsync(client, new DomainOwner(claimerPid, claimerStart, boot, _root), console).ConfigureAwait(false);
                        return PoolMemberEnd.Claimed;
                    }
                }
            }
        }
        finally { await stopWatch.CancelAsync().ConfigureAwait(false); }
    }

    /// <summary>Resume, re-own, move the console log, pass the channel: from here the claimer holds the guest.</summary>
    private async Task HandOverAsync(Socket client, DomainOwner claimer, string consoleLog)
    {
        if (Record.Paused) await _guest.SetSuspendedAsync(false).ConfigureAwait(false);
        _guest.SetOwner(claimer);
        try { File.Move(_dir.PathOf("console.log"), consoleLog, overwrite: true); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { MicroVmLog.CleanupFailed(_log, Record.Id, e.Message); }
        Sockets.SendFd(new SafeFd((int)client.Handle, ownsHandle: false), _guest.ChannelFd(), 1);
        // Sent: the claimer's copy of the channel keeps the guest's init connected; ours goes with the holder.
        _guest.Release();
        MicroVmLog.PoolMemberEnded(_log, Record.Id, $"taken by pid {claimer.Pid}");
    }

    /// <summary>
    /// Completes when the channel reports a hang-up or data: qemu closed it (the domain is gone), and init sends
    /// nothing between its ready mark and Start. poll(2), not a read, so no byte of the claimer's is consumed; the
    /// eventfd <paramref name="wake"/> ends the wait when the holder stops watching (it was a 250 ms poll tick, paid by
    /// every claim).
    /// </summary>
    private void WatchChannel(SafeFd wake, CancellationToken stop)
    {
        const short POLLRDHUP = 0x2000;
        using var fd = _guest.ChannelFd();
        Span<Files.PollFd> fds =
        [
            new Files.PollFd { Fd = fd.Fd, Events = (short)(Files.POLLIN | POLLRDHUP) },
            new Files.PollFd { Fd = wake.Fd, Events = Files.POLLIN },
        ];
        while (!stop.IsCancellationRequested)
        {
            fds[0].Revents = fds[1].Revents = 0;
            if (Files.Poll(fds, -1) > 0 && (fds[0].Revents != 0 || fds[1].Revents != 0)) return;
        }
    }

    private static async Task<string?> ReadLineAsync(Socket client, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        var buffer = new byte[1024];
        int used = 0;
        try
        {
            while (used < buffer.Length)
            {
                int n = await client.ReceiveAsync(buffer.AsMemory(used), SocketFlags.None, timeout.Token).ConfigureAwait(false);
                if (n == 0) return null;
                used += n;
                int newline = Array.IndexOf(buffer, (byte)'\n', 0, used);
                if (newline >= 0) return Encoding.UTF8.GetString(buffer, 0, newline);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException) { }
        return null;
    }

    /// <summary>Destroys the guest unless it was handed over; removes the member's directory either way.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        await _guest.DisposeAsync().ConfigureAwait(false); // removes the directory too, unless released
        try { _dir.Remove(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { MicroVmLog.CleanupFailed(_log, Record.Id, e.Message); }
        _image.Dispose();
    }
}

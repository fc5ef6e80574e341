using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using Sandbox.Core;
using Sandbox.Interop.Libc;
using Sandbox.MicroVm.Pool;

namespace Sandbox.Lifecycle;

/// <summary>
/// The background refill of <c>pool fill --refill</c> (docs/microvm.md, "Warm pool"): a process of its own (the hidden
/// <c>__pool-refill</c> mode, spawned like a member's holder) that keeps <see cref="PoolRefillRecord.Count"/> members
/// of its shape in the pool. It looks every <see cref="Interval"/>; when members were taken it boots new ones, one at a
/// time, each only if the pool's guest RAM stays within its budget (<see cref="WarmPool.BudgetMiB"/>), checked under the
/// budget lock that <c>pool fill</c> takes too. <c>pool drain</c> stops it (<c>stop</c> on its socket) before it drains
/// the members.
/// </summary>
public sealed class PoolRefiller(SandboxPaths paths, PoolRefillRecord record, PoolMemberLauncher launcher, Func<string> currentGuest, ILogger log)
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(60);

    /// <summary>Refills until a <c>stop</c> arrives on <paramref name="dir"/>'s socket or <paramref name="cancellationToken"/> ends it.</summary>
    public async Task RunAsync(SandboxDirectory dir, Action ready, CancellationToken cancellationToken)
    {
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(dir.PathOf(PoolRefillRecord.SocketName)));
        listener.Listen(8);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var serve = ServeAsync(listener, stop, stopped.Task, cancellationToken);
        ready();
        try { await RefillAsync(dir, stop.Token).ConfigureAwait(false); }
        finally
        {
            stopped.TrySetResult();
            await stop.CancelAsync().ConfigureAwait(false);
        }
        await serve.ConfigureAwait(false);
    }

    /// <summary>Answers <c>stop</c>: ends the refill, and replies once no member boot of ours is in flight any more.</summary>
    private async Task ServeAsync(Socket listener, CancellationTokenSource stop, Task stopped, CancellationToken cancellationToken)
    {
        var pending = new List<Socket>();
        try
        {
            while (true)
            {
                Socket client;
                try { client = await listener.AcceptAsync(stop.Token).ConfigureAwait(false); }
                catch (OperationCanceledException) { break; }
                var buffer = new byte[64];
                int n;
                try { n = await client.ReceiveAsync(buffer, SocketFlags.None, stop.Token).AsTask().WaitAsync(TimeSpan.FromSeconds(5), stop.Token).ConfigureAwait(false); }
                catch (Exception e) when (e is TimeoutException or SocketException) { client.Dispose(); continue; }
                catch (OperationCanceledException) { client.Dispose(); break; }
                if (Encoding.ASCII.GetString(buffer, 0, n).TrimEnd('\n') != "stop") { client.Dispose(); continue; }
                pending.Add(client);
                await stop.CancelAsync().ConfigureAwait(false);
                break;
            }
            await stopped.WaitAsync(cancellationToken).ConfigureAwait(false);
            foreach (var c in pending)
            {
                try { c.Send("ok\n"u8); } catch (SocketException) { }
            }
        }
        catch (OperationCanceledException) { }
        finally
        {
            foreach (var c in pending) c.Dispose();
        }
    }

    /// <summary>Records why the refill waits (shown by <c>pool ls</c>), when that changes.</summary>
    private void SetWaiting(SandboxDirectory dir, string? why)
    {
        if (record.Waiting == why) return;
        record.Waiting = why;
        try { record.Save(dir.Dir); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    private async Task RefillAsync(SandboxDirectory dir, CancellationToken stop)
    {
        var backoff = Interval;
        bool budgetFullLogged = false;
        while (!stop.IsCancellationRequested)
        {
            var wait = Interval;
            // The holders we spawned are our children until they exit (a claim or drain ends them): reap them.
            try { while (Processes.WaitAny(block: false) is not null) { } }
            catch (ErrnoException) { }
            var guest = currentGuest();
            int have = WarmPool.Members(paths).Count(m => record.Keeps(m) && m.Guest == guest);
            if (have >= record.Count) SetWaiting(dir, null);
            if (have < record.Count)
            {
                IDisposable budgetLock;
                try { budgetLock = await WarmPool.LockBudgetAsync(paths, stop).ConfigureAwait(false); }
                catch (OperationCanceledException) { break; }
                using (budgetLock)
                {
                    long used = WarmPool.UsedMiB(paths), budget = WarmPool.BudgetMiB();
                    if (used + record.MemoryMiB > budget)
                    {
                        if (!budgetFullLogged)
                            PoolLog.RefillBudgetFull(log, record.Id, used, record.MemoryMiB, budget);
                        budgetFullLogged = true;
                        SetWaiting(dir, string.Create(CultureInfo.InvariantCulture,
                            $"budget full: {used} MiB held, {budget} MiB allowed (SANDBOX_POOL_MAX_MIB)"));
                    }
                    else
                    {
                        budgetFullLogged = false;
                        var id = SandboxId.New();
                        try
                        {
                            // Not cancelled by a stop: the holder boots on regardless, and a stop waits for it, so
                            // that the drain which sent the stop finds the member and destroys it.
                            await launcher.StartAsync(id, record.Image, record.ImageDigest, record.MemoryBytes, record.Cpus,
                                record.Paused, CancellationToken.None).ConfigureAwait(false);
                            PoolLog.Refilled(log, record.Id, id, have + 1, record.Count);
                            SetWaiting(dir, null);
                            backoff = Interval;
                            wait = TimeSpan.Zero;
                        }
                        catch (SandboxException e)
                        {
                            PoolLog.RefillFailed(log, record.Id, e.Message, backoff.TotalSeconds);
                            SetWaiting(dir, "a boot failed, retrying: " + e.Message);
                            wait = backoff;
                            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
                        }
                    }
                }
            }
            if (wait == TimeSpan.Zero) continue;
            try { await Task.Delay(wait, stop).ConfigureAwait(false); }
            catch (OperationCanceledException) { break; }
        }
    }

    /// <summary>The refill's description for <c>pool ls</c>.</summary>
    public static string Describe(PoolRefillRecord r) => string.Create(CultureInfo.InvariantCulture,
        $"{r.Id} keeps {r.Count} x {r.Image} ({r.MemoryMiB}MiB, {r.GuestCpus} cpu{(r.GuestCpus == 1 ? "" : "s")}), pid {r.Pid}{(r.Waiting is null ? "" : "; waiting: " + r.Waiting)}");
}

internal static partial class PoolLog
{
    [LoggerMessage(Level = LogLevel.Information, Message = "refill {Id}: booted member {Member} ({Have}/{Count})")]
    public static partial void Refilled(ILogger logger, string id, string member, int have, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "refill {Id}: booting a member failed, next try in {Seconds} s: {Message}")]
    public static partial void RefillFailed(ILogger logger, string id, string message, double seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "refill {Id}: the pool holds {Used} MiB of guest RAM; one more member of {Member} MiB would exceed its budget of {Budget} MiB, waiting")]
    public static partial void RefillBudgetFull(ILogger logger, string id, long used, long member, long budget);
}

using Microsoft.Extensions.Logging;
using Sandbox.Container;
using Sandbox.Core;
using Sandbox.MicroVm;

namespace Sandbox.Lifecycle;

/// <summary>
/// Makes <c>run/</c> tell the truth after a crash, the same way for both backends and at the same moments (at the start
/// of every lifecycle command, and <c>sandbox prune</c>): a sandbox whose owner died (its owner lock is free, whatever
/// the pid or the boot) is cleaned up (processes and cgroups, mounts, its domain, sockets) and recorded stopped with
/// what is known of its exit; <c>--rm</c> ones are removed. Directories without a state (library sandboxes) whose
/// owner died are removed, exited ones only by prune. Empty orphan cgroups and names of removed sandboxes go too.
/// </summary>
public sealed class SandboxReaper(SandboxStore store, string libvirtUri, ILogger log)
{
    private static readonly TimeSpan Grace = TimeSpan.FromMinutes(1);

    private static bool IsAbandonedNewDirectory(string dir) =>
        Path.GetFileName(dir).StartsWith(".new-", StringComparison.Ordinal)
        // Its creator locks it right after mkdir: give that instant room before a free lock counts as abandoned.
        && DateTime.UtcNow - Directory.GetLastWriteTimeUtc(dir) >= TimeSpan.FromSeconds(2)
        && !SandboxDirectory.IsLocked(dir);

    /// <summary>Cleans up after dead owners; with <paramref name="prune"/> also removes every stopped sandbox.</summary>
    public async Task<int> ReapAsync(bool prune, CancellationToken cancellationToken = default)
    {
        int removed = 0;
        bool staleVm = false;
        var run = store.Paths.Run;
        if (Directory.Exists(run))
        {
            foreach (var dir in Directory.EnumerateFileSystemEntries(run))
            {
                var id = Path.GetFileName(dir);
                if (id.StartsWith('.'))
                {
                    // Half-made state (.new-<id>: its creator holds a lock on it until the rename, so a free lock means
                    // the create died) or a lock file of a crashed create (after a grace).
                    if (IsAbandonedNewDirectory(dir) || DateTime.UtcNow - File.GetLastWriteTimeUtc(dir) > Grace)
                    {
                        try
                        {
                            if (Directory.Exists(dir)) Directory.Delete(dir, true);
                            else File.Delete(dir);
                        }
                        catch (IOException) { }
                    }
                    continue;
                }
                if (!Directory.Exists(dir) || (SandboxDirectory.IsOwned(dir) && !await OwnerGoneAsync(id, dir, cancellationToken).ConfigureAwait(false))) continue;
                try
                {
                    var (r, vm) = await ReapOneAsync(id, prune, cancellationToken).ConfigureAwait(false);
                    if (r) removed++;
                    staleVm |= vm;
                }
                catch (SandboxStateException e)
                {
                    // Left for `rm -f` (ps and every command naming it say so); not a warning on every other command.
                    OwnerLog.ReapSkipped(log, id, e.Message);
                }
                catch (Exception e) when (e is SandboxException or IOException or UnauthorizedAccessException)
                {
                    OwnerLog.ReapFailed(log, id, e.Message);
                }
            }
        }
        if (staleVm || prune) removed += ReapDomains();
        removed += ContainerRuntime.RemoveOrphanCgroups(store.Paths);
        store.RemoveDanglingNames();
        return removed;
    }

    private async Task<(bool Removed, bool Vm)> ReapOneAsync(string id, bool prune, CancellationToken cancellationToken)
    {
        // An unreadable state is not a library sandbox's missing one: it is left alone (and reported, see ReapAsync)
        // for `rm -f`, which removes it knowingly; its writable layer and log are not deleted behind the user's back.
        var record = store.Load(id);
        if (record is null)
        {
            // A library sandbox (no lifecycle state): crashed unless it marked itself exited.
            bool exited = File.Exists(Path.Combine(store.DirOf(id), SandboxDirectory.ExitedName));
            if (exited && !prune) return (false, false);
            bool vm = File.Exists(Path.Combine(store.DirOf(id), "console.log"));
            if (!exited) OwnerLog.Reaping(log, id, "no state");
            await ContainerRuntime.RemoveLeftoversAsync(store.Paths, id, removeAll: true, cancellationToken).ConfigureAwait(false);
            return (true, vm);
        }
        bool stale = record.Status is SandboxStatus.Running or SandboxStatus.Paused
                     || (record.Status == SandboxStatus.Created && record.Owner is not null);
        if (!stale && !(prune && record.Status is SandboxStatus.Stopped or SandboxStatus.Created)) return (false, false);

        // A live owner (same boot, pid and start time) is still making or running it: not stale.
        if (record.Owner is { } owner && owner.IsAlive()) return (false, false);
        using var held = await TryLockAsync(id, cancellationToken).ConfigureAwait(false);
        if (held is null || SandboxDirectory.IsOwned(store.DirOf(id))) return (false, false); // someone is acting on it
        record = store.Load(id);
        if (record is null) return (false, false);
        stale = record.Status is SandboxStatus.Running or SandboxStatus.Paused
                || (record.Status == SandboxStatus.Created && record.Owner is not null);
        // Judged again under the lock: another command's reaper may have settled it meanwhile (stopped now). Without
        // prune a stopped sandbox is the user's to remove, not ours: falling through to the delete below lost it.
        if (!stale && !(prune && record.Status is SandboxStatus.Stopped or SandboxStatus.Created)) return (false, false);
        if (stale)
        {
            OwnerLog.Reaping(log, id, $"owner pid {record.Owner?.Pid}");
            // Folded before the cleanup removes the cgroup (its OOM counter): a holding init's recorded exit, if any.
            var settled = record.Status == SandboxStatus.Created
                ? record with { Status = SandboxStatus.Stopped, Error = record.Error ?? "its owner died while starting it", Finished = record.Finished ?? DateTimeOffset.UtcNow }
                : store.Settled(record);
            await RemoveLeftoversAsync(record, cancellationToken).ConfigureAwait(false);
            if (record.Spec.Remove)
            {
                store.Delete(record);
                return (true, record.Isolation == Isolation.Vm);
            }
            store.Save(settled);
            if (record.HeldByInit && store.ReadExit(id) is { LogLost: > 0 } exit)
            {
                // Init could not say it in the log (the file system stayed full to its end); the save above freed the
                // state reserve if it had to.
                var logPath = store.PathOf(id, SandboxStore.LogName);
                using var writer = new SandboxLogWriter(logPath);
                writer.Write("stderr", System.Text.Encoding.UTF8.GetBytes($"sandbox: {exit.LogLost} log record(s) lost: the file system of {logPath} was full\n"));
            }
            if (!prune) return (false, record.Isolation == Isolation.Vm);
        }
        store.Delete(record);
        return (true, record.Isolation == Isolation.Vm);
    }

    /// <summary>
    /// Whether the lock holder of an owned directory turns out to be an owner that was just killed: it keeps its lock
    /// while the kernel tears it down (a command right after the kill would otherwise skip it for good). Waits up to
    /// a few seconds for such a lock to drop; a live owner is never waited for.
    /// </summary>
    private async Task<bool> OwnerGoneAsync(string id, string dir, CancellationToken cancellationToken)
    {
        OwnerIdentity? owner;
        try { owner = store.Load(id)?.Owner; }
        catch (SandboxStateException) { return false; }
        if (owner is null || !owner.IsDying()) return false;
        var until = DateTime.UtcNow.AddSeconds(5);
        while (SandboxDirectory.IsOwned(dir))
        {
            if (DateTime.UtcNow > until) return false;
            await Task.Delay(10, cancellationToken).ConfigureAwait(false);
        }
        return true;
    }

    private async Task<CommandLock?> TryLockAsync(string id, CancellationToken cancellationToken)
    {
        using var quick = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        quick.CancelAfter(TimeSpan.FromMilliseconds(200));
        try { return await store.LockAsync(id, quick.Token).ConfigureAwait(false); }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested) { return null; }
    }

    /// <summary>
    /// <c>rm -f</c> of a sandbox whose state cannot be read (the caller holds its lock and saw no owner): everything a
    /// dead owner may have left, found from the id alone, as for a library sandbox; the directory and its name go.
    /// </summary>
    public async Task RemoveUnreadableAsync(string id, CancellationToken cancellationToken)
    {
        bool vm = File.Exists(Path.Combine(store.DirOf(id), "console.log"));
        await ContainerRuntime.RemoveLeftoversAsync(store.Paths, id, removeAll: true, cancellationToken).ConfigureAwait(false);
        if (vm) ReapDomains();
        store.RemoveDanglingNames();
    }

    /// <summary>What a sandbox whose owner died may have left: processes, cgroups, mounts, scratch, sockets; its domain.</summary>
    public async Task RemoveLeftoversAsync(SandboxRecord record, CancellationToken cancellationToken)
    {
        // A VM's domain first: its qemu makes files in the directory (the channel socket, the console log) until it is
        // gone, and a directory being filled cannot be removed (an owner killed while libvirtd was creating its domain).
        if (record.Isolation == Isolation.Vm) ReapDomains();
        await ContainerRuntime.RemoveLeftoversAsync(store.Paths, record.Id, removeAll: record.Spec.Remove, cancellationToken).ConfigureAwait(false);
        foreach (var socket in new[] { SandboxStore.ControlName, "init.sock" })
        {
            try { File.Delete(store.PathOf(record.Id, socket)); } catch (IOException) { }
        }
    }

    /// <summary>
    /// Domains whose owner is dead, by the metadata the owner wrote into them (AUTODESTROY already took them when
    /// libvirtd saw the owner's connection close; this covers a libvirtd that was down or restarted). A libvirtd that
    /// does not answer is not an error here: the next command tries again.
    /// </summary>
    private int ReapDomains() => StaleDomainReaper.Prune(libvirtUri, store.Paths, log);
}

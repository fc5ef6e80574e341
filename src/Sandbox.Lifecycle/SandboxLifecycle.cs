using Microsoft.Extensions.Logging;
using Sandbox.Container;
using Sandbox.Core;
using Sandbox.Protocol;
using Sandbox.Interop.Libc;

namespace Sandbox.Lifecycle;

/// <summary>
/// The docker-style lifecycle over both backends: create, start (detached owner), stop, kill, pause, wait, rm. The CLI
/// is one face of it; the OCI runtime will be another. Every method resolves its target by id, name or unique id
/// prefix, and refuses what does not fit the sandbox's status with a <see cref="SandboxException"/> (exit 125) that
/// changes nothing.
/// </summary>
public sealed class SandboxLifecycle(SandboxStore store, SandboxReaper reaper, IImageProvider images)
{
    public SandboxStore Store => store;
    public SandboxReaper Reaper => reaper;

    /// <summary>
    /// Makes a new sandbox in status created. The image must exist: its rootfs is prepared in the form the backend
    /// needs now, so the first start does not pay for it, and its digest is recorded.
    /// </summary>
    public async Task<SandboxRecord> CreateAsync(SandboxSpec spec, CancellationToken cancellationToken)
    {
        SandboxSpecValidator.Validate(spec);
        string digest;
        var form = spec.Isolation == Isolation.Vm ? RootfsForm.ErofsImage : RootfsForm.Directory;
        using (var lease = await images.AcquireAsync(spec.Image, form, cancellationToken).ConfigureAwait(false))
            digest = lease.Digest;
        return store.Create(spec, digest);
    }

    /// <summary>Starts a created or stopped sandbox under a detached owner; returns once the workload runs.</summary>
    public async Task StartDetachedAsync(SandboxRecord record, OwnerLauncher launcher, CancellationToken cancellationToken)
    {
        using var held = await store.LockAsync(record.Id, cancellationToken).ConfigureAwait(false);
        var current = await PrepareStartAsync(record, cancellationToken).ConfigureAwait(false);
        await launcher.StartAsync(store, current, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Starts a created or stopped container here and hands it to its sandbox-init, which holds it from then on
    /// (<see cref="SandboxOwner.StartHeldByInitAsync"/>); returns once the workload runs, with no process of ours left.
    /// </summary>
    public async Task StartHeldByInitAsync(SandboxRecord record, ISandboxRuntime runtime, ILogger log, CancellationToken cancellationToken)
    {
        using var held = await store.LockAsync(record.Id, cancellationToken).ConfigureAwait(false);
        var current = await PrepareStartAsync(record, cancellationToken).ConfigureAwait(false);
        await SandboxOwner.StartHeldByInitAsync(store, current, runtime, log, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Whether init can hold this sandbox once started (docs/process-model.md): a container from an image (an OCI
    /// bundle keeps its owner for sandbox-oci's contract), not on a bridge network (its CNI DEL and /etc/hosts updates
    /// need a host-side owner). <c>SANDBOX_DETACHED_OWNER=process</c> keeps the .NET owner process for all.
    /// </summary>
    public static bool InitCanHold(SandboxRecord record) =>
        record.Isolation == Isolation.Container && record.Spec.Bundle is null && record.Spec.Network != NetworkMode.Bridge
        && Environment.GetEnvironmentVariable("SANDBOX_DETACHED_OWNER") != "process";

    private async Task<SandboxRecord> PrepareStartAsync(SandboxRecord record, CancellationToken cancellationToken)
    {
        var current = store.Resolve(record.Id);
        if (current.Status is SandboxStatus.Running or SandboxStatus.Paused)
            throw new SandboxException(SandboxFailure.InvalidSpec, $"sandbox {Display(current)} is already running");
        if (SandboxDirectory.IsOwned(store.DirOf(current.Id)))
            throw new SandboxException(SandboxFailure.InvalidSpec, $"sandbox {Display(current)} is still being stopped; try again");
        if (current.Status == SandboxStatus.Stopped && current.Owner is not null)
        {
            // A stopped sandbox whose owner died (or whose init held it): whatever it left goes before the new start.
            await reaper.RemoveLeftoversAsync(current with { Spec = current.Spec with { Remove = false } }, cancellationToken).ConfigureAwait(false);
        }
        return current;
    }

    /// <summary>
    /// A paused sandbox held by its init: thawed before a request init must answer (init is in the frozen cgroup).
    /// The caller holds the command lock.
    /// </summary>
    private async Task<SandboxRecord> ThawHeldAsync(SandboxRecord record, CancellationToken cancellationToken)
    {
        if (!record.HeldByInit || record.Status != SandboxStatus.Paused) return record;
        await Container.Cgroups.Cgroup.For(record.Id).FreezeAsync(false, cancellationToken).ConfigureAwait(false);
        var running = record with { Status = SandboxStatus.Running };
        if (SandboxDirectory.IsOwned(store.DirOf(record.Id))) store.Save(running);
        return running;
    }

    /// <summary>docker stats' sample: from the holder, or for a sandbox its init holds, from its cgroup and init's PSS.</summary>
    public async Task<SandboxStats> StatsAsync(SandboxRecord record, CancellationToken cancellationToken)
    {
        RequireRunning(record, "get the stats of");
        if (record.HeldByInit) return ContainerRuntime.HeldStats(record.Id, record.InitPid ?? 0);
        var reply = await ControlClient.SendAsync(store, record, new ControlRequest { Op = "stats" }, cancellationToken).ConfigureAwait(false);
        return reply.Stats ?? throw new SandboxException(SandboxFailure.Host, "the sandbox's owner sent no stats");
    }

    public async Task StopAsync(SandboxRecord record, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (record.Status is not (SandboxStatus.Running or SandboxStatus.Paused)) return; // docker: stopping a stopped container is fine
        if (record.HeldByInit && record.Status == SandboxStatus.Paused)
        {
            using var held = await store.LockAsync(record.Id, cancellationToken).ConfigureAwait(false);
            record = await ThawHeldAsync(store.Resolve(record.Id), cancellationToken).ConfigureAwait(false);
        }
        try
        {
            await ControlClient.SendAsync(store, record, new ControlRequest { Op = "stop", TimeoutSeconds = (int)timeout.TotalSeconds },
                cancellationToken).ConfigureAwait(false);
        }
        catch (SandboxException e) when (e.Reason == SandboxFailure.NotRunning) { }
        await WaitUnownedAsync(record, TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
    }

    public async Task KillAsync(SandboxRecord record, int signal, CancellationToken cancellationToken)
    {
        RequireRunning(record, "kill");
        if (record.HeldByInit && record.Status == SandboxStatus.Paused)
        {
            if (signal == 9)
            {
                // SIGKILL ends a paused sandbox at once (docker): thaw, so that init can deliver it and record the exit.
                using var held = await store.LockAsync(record.Id, cancellationToken).ConfigureAwait(false);
                record = await ThawHeldAsync(store.Resolve(record.Id), cancellationToken).ConfigureAwait(false);
            }
            else
            {
                // Any other signal waits for the unpause, as in docker: the request waits in init's socket, unanswered.
                await ControlClient.PostAsync(store, record, new ControlRequest { Op = "kill", Signal = signal }, cancellationToken).ConfigureAwait(false);
                return;
            }
        }
        await ControlClient.SendAsync(store, record, new ControlRequest { Op = "kill", Signal = signal }, cancellationToken).ConfigureAwait(false);
    }

    public async Task PauseAsync(SandboxRecord record, bool pause, CancellationToken cancellationToken)
    {
        RequireRunning(record, pause ? "pause" : "unpause");
        if (pause && record.Status == SandboxStatus.Paused)
            throw new SandboxException(SandboxFailure.InvalidSpec, $"sandbox {Display(record)} is already paused");
        if (!pause && record.Status != SandboxStatus.Paused)
            throw new SandboxException(SandboxFailure.InvalidSpec, $"sandbox {Display(record)} is not paused");
        if (record.HeldByInit)
        {
            // Init is in the cgroup it would freeze: the CLI does it, under the command lock, and records it.
            using var held = await store.LockAsync(record.Id, cancellationToken).ConfigureAwait(false);
            var current = store.Resolve(record.Id);
            RequireRunning(current, pause ? "pause" : "unpause");
            if (pause == (current.Status == SandboxStatus.Paused))
                throw new SandboxException(SandboxFailure.InvalidSpec, pause ? $"sandbox {Display(current)} is already paused" : $"sandbox {Display(current)} is not paused");
            await Container.Cgroups.Cgroup.For(current.Id).FreezeAsync(pause, cancellationToken).ConfigureAwait(false);
            store.Save(current with { Status = pause ? SandboxStatus.Paused : SandboxStatus.Running });
            return;
        }
        await ControlClient.SendAsync(store, record, new ControlRequest { Op = pause ? "pause" : "unpause" }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>docker's wait: blocks until the sandbox stops and returns its exit code (128+N for signal N).</summary>
    public async Task<int> WaitAsync(SandboxRecord record, CancellationToken cancellationToken)
    {
        while (true)
        {
            var current = store.Load(record.Id) is SandboxRecord r ? store.Effective(r) : null;
            if (current is null)
                throw new SandboxException(SandboxFailure.InvalidSpec, $"no such sandbox: {Display(record)}");
            if (current.Status == SandboxStatus.Stopped) return current.ShellCode;
            if (current.Status is SandboxStatus.Running or SandboxStatus.Paused)
            {
                try
                {
                    var reply = await ControlClient.SendAsync(store, current, new ControlRequest { Op = "wait" }, cancellationToken).ConfigureAwait(false);
                    return reply.ExitCode is int c ? (reply.ExitSignal is int s && s != 0 ? 128 + s : c)
                        : reply.ExitSignal is int sig ? 128 + sig : 255;
                }
                catch (SandboxException e) when (e.Reason == SandboxFailure.NotRunning)
                {
                    // The owner went away between our read and the connect: read the record again.
                }
            }
            await Task.Delay(50, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>docker's rm: a stopped (or created) sandbox; with <paramref name="force"/> a running one is killed first.</summary>
    public async Task RemoveAsync(SandboxRecord record, bool force, CancellationToken cancellationToken)
    {
        using var held = await store.LockAsync(record.Id, cancellationToken).ConfigureAwait(false);
        var current = store.Resolve(record.Id);
        if (current.Status is SandboxStatus.Running or SandboxStatus.Paused && !force)
            throw new SandboxException(SandboxFailure.InvalidSpec,
                $"cannot remove sandbox {Display(current)}: it is {current.Status.ToString().ToLowerInvariant()} (stop it first, or use rm -f)");
        if (SandboxDirectory.IsOwned(store.DirOf(current.Id)))
        {
            // Running, still starting (its owner has not opened the control socket yet), or finishing its cleanup.
            if (force) current = await ThawHeldAsync(current, cancellationToken).ConfigureAwait(false);
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (SandboxDirectory.IsOwned(store.DirOf(current.Id)) && DateTime.UtcNow < deadline)
            {
                if (force)
                {
                    try
                    {
                        await ControlClient.SendAsync(store, current, new ControlRequest { Op = "kill", Signal = 9 }, cancellationToken).ConfigureAwait(false);
                    }
                    catch (SandboxException e) when (e.Reason == SandboxFailure.NotRunning) { }
                }
                await WaitUnownedAsync(current, TimeSpan.FromMilliseconds(force ? 500 : 1000), cancellationToken).ConfigureAwait(false);
            }
            if (SandboxDirectory.IsOwned(store.DirOf(current.Id)))
            {
                if (!force)
                    throw new SandboxException(SandboxFailure.InvalidSpec, $"cannot remove sandbox {Display(current)}: it is starting (use rm -f)");
                KillOwner(store.Load(current.Id) ?? current);
            }
            current = store.Load(current.Id) ?? current;
        }
        await reaper.RemoveLeftoversAsync(current with { Spec = current.Spec with { Remove = true } }, cancellationToken).ConfigureAwait(false);
        store.Delete(current);
    }

    /// <summary>
    /// <c>rm -f</c> of a sandbox whose <c>state.json</c> cannot be read (<see cref="SandboxStateException"/>): the way
    /// back. Refused while an owner still holds it (without the state there is no pid to stop it by).
    /// </summary>
    public async Task RemoveUnreadableAsync(string id, CancellationToken cancellationToken)
    {
        using var held = await store.LockAsync(id, cancellationToken).ConfigureAwait(false);
        if (SandboxDirectory.IsOwned(store.DirOf(id)))
            throw new SandboxException(SandboxFailure.InvalidSpec,
                $"cannot remove sandbox {id}: its owner process still runs it, and its state file cannot be read to stop it; try again once it exits");
        await reaper.RemoveUnreadableAsync(id, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>An owner that does not answer: SIGKILL it (pid, start time and boot checked, so never a stranger).</summary>
    private void KillOwner(SandboxRecord record)
    {
        if (record.Owner is OwnerIdentity o && o.IsAlive() && o.Pid != Environment.ProcessId)
            Processes.Kill(o.Pid, Processes.SIGKILL);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (SandboxDirectory.IsOwned(store.DirOf(record.Id)) && DateTime.UtcNow < deadline) Thread.Sleep(20);
    }

    private async Task<bool> WaitUnownedAsync(SandboxRecord record, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (SandboxDirectory.IsOwned(store.DirOf(record.Id)))
        {
            if (DateTime.UtcNow > deadline) return false;
            await Task.Delay(10, cancellationToken).ConfigureAwait(false);
        }
        return true;
    }

    private static void RequireRunning(SandboxRecord record, string what)
    {
        if (record.Status is not (SandboxStatus.Running or SandboxStatus.Paused))
            throw new SandboxException(SandboxFailure.NotRunning, $"cannot {what} sandbox {Display(record)}: it is not running");
    }

    public static string Display(SandboxRecord r) => r.Name ?? r.Id;

    /// <summary>
    /// The detached owner's whole life (the CLI's hidden <c>__owner ID</c> mode): start the sandbox, report on
    /// <paramref name="report"/> (fd 3), serve the control socket until the workload ends, record the exit, clean up.
    /// </summary>
    public static async Task<int> RunOwnerAsync(SandboxStore store, string id, ISandboxRuntime runtime, SafeFd report, ILogger log)
    {
        SandboxOwner owner;
        try
        {
            var record = store.Load(id) ?? throw new SandboxException(SandboxFailure.InvalidSpec, $"no such sandbox: {id}");
            owner = await SandboxOwner.StartAsync(store, record, runtime, stdio: null, log, CancellationToken.None).ConfigureAwait(false);
        }
        catch (SandboxException e)
        {
            WriteReport(report, e);
            return e.ExitCode;
        }
        WriteReport(report, null);
        // From here the owner idles for as long as the sandbox lives: give back the start-up garbage and the free
        // space of the GC's regions (docs/process-model.md, "Owner memory").
        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        await using (owner)
        {
            await owner.RunToExitAsync().ConfigureAwait(false);
        }
        return 0;
    }

    private static void WriteReport(SafeFd report, SandboxException? failure)
    {
        try { Files.WriteAll(report, System.Text.Encoding.UTF8.GetBytes(OwnerLauncher.FormatReport(failure))); }
        catch (ErrnoException) { /* the launching CLI is gone */ }
        report.Dispose();
    }
}

using Microsoft.Extensions.Logging;
using Sandbox.Core;
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
        var current = store.Resolve(record.Id);
        if (current.Status is SandboxStatus.Running or SandboxStatus.Paused)
            throw new SandboxException(SandboxFailure.InvalidSpec, $"sandbox {Display(current)} is already running");
        if (SandboxDirectory.IsOwned(store.DirOf(current.Id)))
            throw new SandboxException(SandboxFailure.InvalidSpec, $"sandbox {Display(current)} is still being stopped; try again");
        if (current.Status == SandboxStatus.Stopped && current.Owner is not null)
        {
            // A stopped sandbox whose owner died: whatever it left goes before the new start.
            await reaper.RemoveLeftoversAsync(current with { Spec = current.Spec with { Remove = false } }, cancellationToken).ConfigureAwait(false);
        }
        await launcher.StartAsync(store, current, cancellationToken).ConfigureAwait(false);
    }

    public async Task StopAsync(SandboxRecord record, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (record.Status is not (SandboxStatus.Running or SandboxStatus.Paused)) return; // docker: stopping a stopped container is fine
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
        await ControlClient.SendAsync(store, record, new ControlRequest { Op = "kill", Signal = signal }, cancellationToken).ConfigureAwait(false);
    }

    public async Task PauseAsync(SandboxRecord record, bool pause, CancellationToken cancellationToken)
    {
        RequireRunning(record, pause ? "pause" : "unpause");
        if (pause && record.Status == SandboxStatus.Paused)
            throw new SandboxException(SandboxFailure.InvalidSpec, $"sandbox {Display(record)} is already paused");
        if (!pause && record.Status != SandboxStatus.Paused)
            throw new SandboxException(SandboxFailure.InvalidSpec, $"sandbox {Display(record)} is not paused");
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

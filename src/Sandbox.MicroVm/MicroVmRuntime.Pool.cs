using Sandbox.Core;
using Sandbox.Interop.Libvirt;
using Sandbox.MicroVm.Pool;

namespace Sandbox.MicroVm;

public sealed partial class MicroVmRuntime
{
    /// <summary>Runs take a warm pool member when one matches; <c>SANDBOX_VM_POOL=off</c> (or false here) always boots cold.</summary>
    public bool UseWarmPool { get; init; } = Environment.GetEnvironmentVariable("SANDBOX_VM_POOL") is not "off";

    /// <summary>The identity of this runtime's guest kernel and initramfs, part of a pool member's shape.</summary>
    public string GuestIdentity => PoolShape.GuestIdentity(_guest.KernelPath, _guest.InitramfsPath);

    /// <summary>The guest RAM (MiB) a run with <paramref name="limits"/> gets: what a pool member must have to serve it.</summary>
    public long GuestMemoryMiB(ResourceLimits limits) => GuestShape(limits).MemoryMiB;

    /// <summary>The guest RAM (MiB) and vCPUs a run with <paramref name="limits"/> gets.</summary>
    public (long MemoryMiB, int Cpus) GuestShapeOf(ResourceLimits limits) => GuestShape(limits);

    private async Task<GuestDomain?> TryClaimWarmAsync(PoolShape shape, DomainDefinition definition, SandboxDirectory dir, bool remove,
        string id, SandboxTimings timings, CancellationToken cancellationToken)
    {
        var claimed = await WarmPool.TryClaimAsync(_paths, shape, DomainOwner.Current(_paths), definition.ConsoleLogPath, _log, cancellationToken)
            .ConfigureAwait(false);
        if (claimed is null) return null;
        timings.Step(StartPhase.Claimed);
        var connection = await ConnectAsync(cancellationToken).ConfigureAwait(false);
        // The member's own domain and paths; the console log is in this run's directory now.
        var adopted = definition with { Name = claimed.Member.Domain };
        GuestDomain guest;
        try
        {
            guest = await Task.Run(() => GuestDomain.Adopt(connection, adopted, claimed.Channel, dir, remove, id, timings, _log), cancellationToken)
                .ConfigureAwait(false);
        }
        catch (SandboxException e)
        {
            // Gone between hand-over and adoption (destroyed by someone else): boot cold instead.
            MicroVmLog.CleanupFailed(_log, claimed.Member.Domain, e.Message);
            return null;
        }
        timings.Boot = "warm";
        timings.Created = SandboxTimings.Now();
        timings.Step(StartPhase.DomainCreated, timings.Created);
        return guest;
    }

    /// <summary>
    /// Boots a warm pool member (<c>sandbox pool fill</c>; the caller is its holder): a guest of <paramref name="image"/>
    /// shaped for runs with <paramref name="limits"/>, up to init's ready mark, then paused (unless
    /// <paramref name="pause"/> is false). Its domain is not tied to this process's connection (it must outlive the
    /// holder once handed over): a holder that dies closes the channel, which ends a running guest, and the stale-domain
    /// reaper ends a paused one at the next command.
    /// </summary>
    /// <param name="digest">The image's digest as <c>pool fill</c> resolved it (the member boots that image); null: resolve <paramref name="image"/>.</param>
    public async Task<PoolMember> BootPoolMemberAsync(string id, string image, string? digest, ResourceLimits limits, bool pause,
        CancellationToken cancellationToken)
    {
        var (memoryMiB, cpus) = GuestShape(limits);
        var connection = await ConnectAsync(cancellationToken).ConfigureAwait(false);
        var accelerator = (await GetAcceleratorAsync(cancellationToken).ConfigureAwait(false)).Accelerator;
        var lease = await _images.AcquireAsync(digest ?? image, RootfsForm.ErofsImage, cancellationToken).ConfigureAwait(false);
        SandboxDirectory? dir = null;
        GuestDomain? guest = null;
        try
        {
            dir = SandboxDirectory.Create(_paths, id);
            var definition = DomainDefinition.ForGuest(id, _paths, _guest, accelerator, memoryMiB, cpus, lease.RootfsPath, dir)
                with { Prewarm = true };
            var timings = new SandboxTimings { Requested = SandboxTimings.Now() };
            guest = await GuestDomain.BootAsync(connection, definition, dir, removeDirectory: true, id, BootDeadline, timings, _log,
                cancellationToken, DomainCreateFlags.None).ConfigureAwait(false);
            if (pause) await guest.SetSuspendedAsync(true).ConfigureAwait(false);
            var record = new PoolMemberRecord
            {
                Id = id,
                Image = image,
                ImageDigest = lease.Digest,
                MemoryMiB = memoryMiB,
                Cpus = cpus,
                Guest = GuestIdentity,
                Accelerator = accelerator.ToShortName() ?? "",
                Domain = definition.Name,
                HolderPid = Environment.ProcessId,
                Paused = pause,
                Created = DateTimeOffset.UtcNow,
                BootMilliseconds = Math.Round(timings.SinceRequest(timings.InitStarted) ?? 0, 1),
            };
            record.Save(dir.Dir);
            return new PoolMember(record, guest, dir, lease, _paths.Root, _log);
        }
        catch
        {
            if (guest is not null) await guest.DisposeAsync().ConfigureAwait(false);
            else dir?.Remove();
            lease.Dispose();
            throw;
        }
    }
}

using Microsoft.Extensions.Logging;
using Sandbox.Core;
using Sandbox.Interop.Libvirt;

namespace Sandbox.MicroVm;

/// <summary>
/// Whether KVM really runs our guest. /dev/kvm existing proves nothing here: these hosts expose a paravirtual KVM under
/// which ordinary guest kernels hang. So the probe boots the real guest kernel and initramfs under a <c>kvm</c> domain
/// and waits (with a deadline) for sandbox-init's Hello on the channel, then destroys the domain. The answer is cached
/// per host boot and guest kernel in <c>SandboxPaths.Cache/kvm-probe</c>.
/// </summary>
public static class KvmProbe
{
    /// <summary>A guest under working KVM says Hello in well under a second; a hanging one never does.</summary>
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(5);

    public const string ForceVariable = "SANDBOX_VM_ACCEL";

    /// <summary>The accelerator to use, and why.</summary>
    public readonly record struct Result(Accelerator Accelerator, string Reason, bool Cached);

    internal static async Task<Result> ProbeAsync(LibvirtConnection connection, SandboxPaths paths, GuestArtifacts guest,
        ILogger log, CancellationToken cancellationToken)
    {
        if (Environment.GetEnvironmentVariable(ForceVariable) is { Length: > 0 } forced)
        {
            return forced.ToLowerInvariant() switch
            {
                "tcg" => new Result(Accelerator.Tcg, $"forced by {ForceVariable}", false),
                "kvm" => new Result(Accelerator.Kvm, $"forced by {ForceVariable}", false),
                _ => throw new SandboxException(SandboxFailure.InvalidSpec, $"{ForceVariable} must be kvm or tcg, not '{forced}'"),
            };
        }
        if (!File.Exists("/dev/kvm"))
            return new Result(Accelerator.Tcg, "no /dev/kvm", false);

        var key = CacheKey(guest);
        var cacheFile = Path.Combine(paths.Cache, "kvm-probe");
        try
        {
            var lines = File.ReadAllLines(cacheFile);
            if (lines.Length >= 3 && lines[0] == key && Enum.TryParse<Accelerator>(lines[1], out var cached))
                return new Result(cached, lines[2], true);
        }
        catch (IOException) { }

        var result = await BootUnderKvmAsync(connection, paths, guest, log, cancellationToken).ConfigureAwait(false);
        MicroVmLog.KvmProbed(log, result.Accelerator, result.Reason);
        try
        {
            Directory.CreateDirectory(paths.Cache);
            var tmp = cacheFile + "." + Environment.ProcessId;
            File.WriteAllLines(tmp, [key, result.Accelerator.ToString(), result.Reason]);
            File.Move(tmp, cacheFile, overwrite: true);
        }
        catch (IOException) { /* not cached: the next run probes again */ }
        return result;
    }

    private static async Task<Result> BootUnderKvmAsync(LibvirtConnection connection, SandboxPaths paths, GuestArtifacts guest,
        ILogger log, CancellationToken cancellationToken)
    {
        string caps = await Task.Run(connection.GetCapabilities, cancellationToken).ConfigureAwait(false);
        if (!caps.Contains("<domain type='kvm'", StringComparison.Ordinal))
            return new Result(Accelerator.Tcg, "libvirt offers no kvm domains", false);

        var id = "kvmprobe-" + SandboxId.New();
        var dir = SandboxDirectory.Create(paths, id);
        // No disk: the probe only waits for init's Hello.
        var definition = DomainDefinition.ForGuest(id, paths, guest, Accelerator.Kvm, MicroVmRuntime.DefaultMemoryMiB, 1, null, dir);
        var started = SandboxTimings.Now();
        try
        {
            await using var domain = await GuestDomain.BootAsync(connection, definition, dir, removeDirectory: true, "kvm-probe", Deadline, new SandboxTimings(), log,
                cancellationToken).ConfigureAwait(false);
            return new Result(Accelerator.Kvm, $"a guest booted under KVM in {(SandboxTimings.Now() - started) / 1e6:0} ms", false);
        }
        catch (SandboxException e) when (e.Reason == SandboxFailure.BootTimeout)
        {
            return new Result(Accelerator.Tcg, $"a guest did not boot under KVM within {Deadline.TotalSeconds:0} s", false);
        }
        catch (SandboxException e)
        {
            // qemu's own complaint (e.g. "failed to set MSR 0x10a to 0x69" on a paravirtual KVM) says enough.
            var m = e.Message;
            int at = m.IndexOf("error: ", StringComparison.Ordinal);
            if (at >= 0) m = m[(at + "error: ".Length)..];
            int end = m.IndexOf(" qemu-system", StringComparison.Ordinal);
            if (end > 0) m = m[..end];
            return new Result(Accelerator.Tcg, "qemu cannot run a guest under KVM: " + m.Trim(), false);
        }
        finally
        {
            try { dir.Remove(); } catch (IOException) { }
        }
    }

    /// <summary>Host kernel, boot id and the guest kernel's identity: any change asks again.</summary>
    private static string CacheKey(GuestArtifacts guest)
    {
        string Read(string p) { try { return File.ReadAllText(p).Trim(); } catch (IOException) { return "?"; } }
        var k = new FileInfo(guest.KernelPath);
        return $"{Read("/proc/sys/kernel/osrelease")} {Read("/proc/sys/kernel/random/boot_id")} {k.FullName}:{k.Length}:{k.LastWriteTimeUtc.Ticks}";
    }
}

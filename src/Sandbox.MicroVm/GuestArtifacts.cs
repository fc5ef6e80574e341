using Sandbox.Core;

namespace Sandbox.MicroVm;

/// <summary>The guest kernel (PVH vmlinux) and the initramfs holding sandbox-init.</summary>
public sealed record GuestArtifacts(string KernelPath, string InitramfsPath)
{
    public const string KernelVariable = "SANDBOX_KERNEL";
    public const string InitramfsVariable = "SANDBOX_INITRAMFS";
    public const string InitramfsFileName = "sandbox-initramfs.cpio";
    public const string KernelFileName = "vmlinux";

    /// <summary>
    /// The kernel from <c>SANDBOX_KERNEL</c>, else <c>&lt;binDir&gt;/../kernel/current/vmlinux</c> (out/bin → out/kernel),
    /// else <c>&lt;binDir&gt;/../lib/sandbox/vmlinux</c> (installed); the initramfs from <c>SANDBOX_INITRAMFS</c>, else next
    /// to the binary, else in <c>../lib/sandbox</c>. Throws with what to run when one is missing.
    /// </summary>
    public static GuestArtifacts Locate(string binDir)
    {
        var installed = InstalledFiles.LibDirectory(binDir);
        var kernel = Environment.GetEnvironmentVariable(KernelVariable) is { Length: > 0 } k
            ? k : InstalledFiles.FirstExisting(
                Path.GetFullPath(Path.Combine(binDir, "..", "kernel", "current", KernelFileName)),
                Path.Combine(installed, KernelFileName));
        if (!File.Exists(kernel))
            throw new SandboxException(SandboxFailure.BackendUnavailable,
                $"no guest kernel at {kernel}: build it with kernels/build.sh, install it with scripts/install.sh (or set {KernelVariable})");
        var initramfs = Environment.GetEnvironmentVariable(InitramfsVariable) is { Length: > 0 } i
            ? i : InstalledFiles.FirstExisting(Path.Combine(binDir, InitramfsFileName), Path.Combine(installed, InitramfsFileName));
        if (!File.Exists(initramfs))
            throw new SandboxException(SandboxFailure.BackendUnavailable,
                $"no guest initramfs at {initramfs}: build it with scripts/build.sh, install it with scripts/install.sh (or set {InitramfsVariable})");
        return new GuestArtifacts(kernel, initramfs);
    }
}

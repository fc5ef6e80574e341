namespace Sandbox.Core;

/// <summary>
/// Where the files the CLI runs with (sandbox-init, the guest's kernel and initramfs) sit relative to the running
/// binary: beside it in the build tree (<c>out/bin</c>, the kernel in <c>out/kernel/current</c>), or in
/// <c>PREFIX/lib/sandbox</c> once <c>scripts/install.sh</c> put the binary in <c>PREFIX/bin</c>.
/// </summary>
public static class InstalledFiles
{
    /// <summary><c>PREFIX/lib/sandbox</c> for a binary in <c>PREFIX/bin</c>.</summary>
    public static string LibDirectory(string binDirectory) => Path.GetFullPath(Path.Combine(binDirectory, "..", "lib", "sandbox"));

    /// <summary>The first of <paramref name="candidates"/> that exists, else the first (for the error that names it).</summary>
    public static string FirstExisting(params string[] candidates) => candidates.FirstOrDefault(File.Exists) ?? candidates[0];
}

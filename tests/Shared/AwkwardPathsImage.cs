namespace Sandbox.Tests.Shared;

/// <summary>
/// A one-layer OCI image made by umoci whose paths trip naive code: working-directory symlinks (absolute, relative,
/// several levels, dangling, onto a file, a loop) and a passwd entry with an id that is no number. Shared by the
/// container and micro-VM tests of init's working directory and error messages.
/// </summary>
internal static class AwkwardPathsImage
{
    /// <summary>Symlink → where it resolves inside the rootfs; the targets do not exist in the image.</summary>
    public static readonly (string Link, string Target, string Resolved)[] DanglingDirLinks =
    [
        ("/work", "/srv/work", "/srv/work"),
        ("/rel", "srv/rel", "/srv/rel"),
        ("/deep", "/srv/a/b/c", "/srv/a/b/c"),
        ("/escape", "../../../../srv/escaped", "/srv/escaped"),
    ];

    /// <summary>/existing → /srv/existing, a directory the image has (holding a file "marker").</summary>
    public const string ExistingLink = "/existing";

    /// <summary>/onfile → /etc/passwd.</summary>
    public const string FileLink = "/onfile";

    /// <summary>/loop → /loop.</summary>
    public const string LoopLink = "/loop";

    /// <summary>A user whose passwd entry has a uid that is no number.</summary>
    public const string BrokenUser = "broken";

    /// <summary>Builds the image as an OCI layout under <paramref name="dir"/>; returns the <c>LAYOUT:TAG</c> reference.</summary>
    public static string Build(string dir)
    {
        var image = Umoci.NewImage(Path.Combine(dir, "awkward-layout"));
        var bundle = Path.Combine(dir, "awkward-bundle");
        var rootfs = Umoci.Unpack(image, bundle);
        foreach (var d in new[] { "etc", "srv/existing", "tmp" }) Directory.CreateDirectory(Path.Combine(rootfs, d));
        Umoci.AddBusybox(rootfs, "sh", "ls", "cat", "pwd", "echo", "true", "test", "readlink");
        File.WriteAllText(Path.Combine(rootfs, "etc/passwd"),
            $"root:x:0:0:root:/root:/bin/sh\n{BrokenUser}:x:notanumber:0::/:/bin/sh\n");
        File.WriteAllText(Path.Combine(rootfs, "etc/group"), "root:x:0:\n");
        File.WriteAllText(Path.Combine(rootfs, "srv/existing/marker"), "here\n");
        foreach (var (link, target, _) in DanglingDirLinks) File.CreateSymbolicLink(rootfs + link, target);
        File.CreateSymbolicLink(rootfs + ExistingLink, "/srv/existing");
        File.CreateSymbolicLink(rootfs + FileLink, "/etc/passwd");
        File.CreateSymbolicLink(rootfs + LoopLink, LoopLink);
        Umoci.Repack(image, bundle);
        Umoci.Config(image, "--config.cmd", "pwd");
        return image;
    }
}

namespace Sandbox.Tests.Shared;

/// <summary>
/// A two-layer OCI image made by umoci (a real third-party tool), shared by the container and micro-VM tests: the
/// first layer holds busybox, /data/keep, /data/gone and /olddir; the second deletes /data/gone and /olddir (OCI
/// whiteouts) and adds /data/added; the config sets ENTRYPOINT, CMD, Env and WorkingDir.
/// </summary>
internal static class UmociLayeredImage
{
    /// <summary>What the image's default command prints: Env, WorkingDir, /data after the whiteouts, no /olddir.</summary>
    public const string DefaultOutput = "hello-from-config\n/work/here\nadded\nkeep\n0\n";

    /// <summary>The default command's exit code: <c>grep -c</c> finds no olddir.</summary>
    public const int DefaultExitCode = 1;

    /// <summary>Builds the image as an OCI layout under <paramref name="dir"/>; returns the <c>LAYOUT:TAG</c> reference.</summary>
    public static string Build(string dir)
    {
        var image = Umoci.NewImage(Path.Combine(dir, "layout"));
        var b1 = Path.Combine(dir, "b1");
        var rootfs = Umoci.Unpack(image, b1);
        Umoci.AddBusybox(rootfs, "sh", "ls", "cat", "pwd", "echo", "grep", "true");
        Directory.CreateDirectory(Path.Combine(rootfs, "data"));
        File.WriteAllText(Path.Combine(rootfs, "data/keep"), "kept\n");
        File.WriteAllText(Path.Combine(rootfs, "data/gone"), "should be whited out\n");
        Directory.CreateDirectory(Path.Combine(rootfs, "olddir"));
        File.WriteAllText(Path.Combine(rootfs, "olddir/x"), "x\n");
        Umoci.Repack(image, b1);

        var b2 = Path.Combine(dir, "b2");
        var rootfs2 = Umoci.Unpack(image, b2);
        File.Delete(Path.Combine(rootfs2, "data/gone"));
        Directory.Delete(Path.Combine(rootfs2, "olddir"), true);
        File.WriteAllText(Path.Combine(rootfs2, "data/added"), "added\n");
        Umoci.Repack(image, b2);
        Umoci.Config(image,
            "--config.entrypoint", "/bin/sh", "--config.entrypoint", "-c",
            "--config.cmd", "echo $GREETING; pwd; ls /data; ls / | grep -c olddir",
            "--config.env", "GREETING=hello-from-config", "--config.workingdir", "/work/here");
        return image;
    }
}

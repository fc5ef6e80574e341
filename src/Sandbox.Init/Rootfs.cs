using Sandbox.Interop.Libc;
using Sandbox.Protocol;
using static Sandbox.Interop.Libc.Mounts;

namespace Sandbox.Init;

/// <summary>The workload's file system view: volumes, /proc, /sys, /dev, /etc files, masked paths, the root switch.</summary>
internal static class Rootfs
{
    /// <summary>docker's masked paths: unreadable in the sandbox.</summary>
    public static readonly string[] MaskedPaths =
    [
        "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
        "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
    ];

    /// <summary>docker's read-only paths.</summary>
    public static readonly string[] ReadOnlyPaths = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

    public static void MountVolumes(string root, BindMount[] mounts)
    {
        foreach (var m in mounts)
        {
            Workload.Try(InitFailure.Rootfs, $"volume {m.Source}:{m.Target}", () =>
            {
                bool isDir = Directory.Exists(m.Source);
                if (!isDir && !File.Exists(m.Source))
                    throw new IOException($"host path {m.Source} does not exist");
                var target = PathInRoot.Resolve(root, m.Target);
                var what = $"volume {m.Source}:{m.Target}";
                if (isDir) PathInRoot.CreateDirectory(root, target, InitFailure.Rootfs, what);
                else if (!File.Exists(target))
                {
                    PathInRoot.CreateDirectory(root, Path.GetDirectoryName(target)!, InitFailure.Rootfs, what);
                    File.WriteAllBytes(target, []);
                }
                Mount(m.Source, target, null, MS_BIND | MS_REC);
                // A node the workload makes (CAP_MKNOD) in a writable volume must not open a host device.
                SetNoDev(target, recursive: true);
                if (m.ReadOnly) SetReadOnly(target, recursive: true);
            });
        }
    }

    public static void MountKernelFileSystems(string root, bool privateNetwork)
    {
        Workload.Try(InitFailure.Rootfs, "mount /proc", () =>
        {
            Directory.CreateDirectory(root + "/proc");
            Mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC);
        });
        Workload.Try(InitFailure.Rootfs, "mount /sys", () =>
        {
            Directory.CreateDirectory(root + "/sys");
            try
            {
                Mount("sysfs", root + "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY);
            }
            catch (ErrnoException e) when (e.Errno == 1 /* EPERM */ && !privateNetwork)
            {
                // A user namespace sharing the host's network may not mount sysfs: bind the host's, read-only.
                Mount("/sys", root + "/sys", null, MS_BIND | MS_REC);
                SetReadOnly(root + "/sys", recursive: true);
            }
        });
    }

    private static readonly (string Name, uint Major, uint Minor)[] Devices =
    [
        ("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0),
    ];

    public static void MountDev(string root)
    {
        var dev = root + "/dev";
        Workload.Try(InitFailure.Rootfs, "mount /dev", () =>
        {
            Directory.CreateDirectory(dev);
            // nodev: the workload keeps CAP_MKNOD (docker's set) but a node it makes opens nothing; the standard nodes
            // are binds of the host's (the guest's in a VM), each its own mount, so they work. This stands in for
            // docker's device cgroup, the same on cgroup v1, v2 and in a guest.
            Mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NODEV | MS_STRICTATIME, "mode=755,size=65536k");
            foreach (var (name, _, _) in Devices)
            {
                var path = dev + "/" + name;
                File.WriteAllBytes(path, []);
                Mount("/dev/" + name, path, null, MS_BIND);
            }
            File.WriteAllBytes(dev + "/console", []); // bind target for the pty with -t
            Directory.CreateDirectory(dev + "/pts");
            Mount("devpts", dev + "/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620");
            File.CreateSymbolicLink(dev + "/ptmx", "pts/ptmx");
            Directory.CreateDirectory(dev + "/shm");
            Mount("shm", dev + "/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k");
            Directory.CreateDirectory(dev + "/mqueue");
            try { Mount("mqueue", dev + "/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC); }
            catch (ErrnoException) { Directory.Delete(dev + "/mqueue"); }
            File.CreateSymbolicLink(dev + "/fd", "/proc/self/fd");
            File.CreateSymbolicLink(dev + "/stdin", "/proc/self/fd/0");
            File.CreateSymbolicLink(dev + "/stdout", "/proc/self/fd/1");
            File.CreateSymbolicLink(dev + "/stderr", "/proc/self/fd/2");
            File.CreateSymbolicLink(dev + "/core", "/proc/kcore");
        });
    }

    /// <summary>
    /// /etc/hostname, /etc/hosts and /etc/resolv.conf are generated and bind-mounted, as docker does, so they exist
    /// (and stay writable) whatever the image holds and whether or not the rootfs is read-only.
    /// </summary>
    public static void BindEtcFiles(string root, InitSpec spec)
    {
        Workload.Try(InitFailure.Rootfs, "write /etc/hostname, /etc/hosts, /etc/resolv.conf", () =>
        {
            // Staged on the sandbox's fresh /dev tmpfs and unlinked after binding: the binds keep the files, and
            // nothing outside the new root (perhaps not writable, e.g. from a user namespace) is touched.
            var staging = Path.Combine(root, "dev", $".etc-{Environment.TickCount64}");
            Directory.CreateDirectory(staging);
            try
            {
                var hosts = EtcHosts.Render(spec.Hostname, spec.HostnameOnLoopback, spec.ExtraHosts);
                string resolv = spec.ResolvConf ?? "";
                try { if (spec.ResolvConf is null && !spec.SetupLoopback) resolv = File.ReadAllText("/etc/resolv.conf"); } catch (IOException) { }
                var files = new (string Name, string Content)[]
                {
                    ("hostname", spec.Hostname + "\n"), ("hosts", hosts), ("resolv.conf", resolv),
                };
                var etc = PathInRoot.Resolve(root, "/etc");
                Directory.CreateDirectory(etc);
                foreach (var (name, content) in files)
                {
                    File.WriteAllText(Path.Combine(staging, name), content);
                    File.SetUnixFileMode(Path.Combine(staging, name), (UnixFileMode)0x1a4 /* 0644 */);
                    var target = PathInRoot.Resolve(root, "/etc/" + name);
                    if (Directory.Exists(target)) throw new IOException($"{target} is a directory");
                    if (!File.Exists(target))
                    {
                        if (new FileInfo(target).LinkTarget is not null) File.Delete(target);
                        File.WriteAllBytes(target, []);
                    }
                    Mount(Path.Combine(staging, name), target, null, MS_BIND);
                }
            }
            finally
            {
                try { Directory.Delete(staging, recursive: true); } catch (IOException) { }
            }
        });
    }

    public static void SwitchRoot(string root, RootSwitch how)
    {
        Workload.Try(InitFailure.Rootfs, $"switch root to {root} ({how})", () =>
        {
            Directory.SetCurrentDirectory(root);
            if (how == RootSwitch.PivotRoot)
            {
                // pivot_root(".", "."): the old root ends up stacked under the new one and is then detached.
                PivotRoot(".", ".");
                Mount(null, ".", null, MS_SLAVE | MS_REC);
                Unmount(".", MNT_DETACH);
            }
            else
            {
                Mount(root, "/", null, MS_MOVE);
                Chroot(".");
            }
            Directory.SetCurrentDirectory("/");
        });
    }

    /// <summary>--privileged: sysfs as the guest's, writable (cgroup2 is mounted on it by the workload).</summary>
    public static void MakeSysWritable() => Mount(null, "/sys", null, MS_REMOUNT | MS_NOSUID | MS_NODEV | MS_NOEXEC);

    public static void MaskPaths()
    {
        foreach (var path in MaskedPaths)
        {
            Workload.Try(InitFailure.Rootfs, $"mask {path}", () =>
            {
                if (Directory.Exists(path))
                    Mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0");
                else if (File.Exists(path))
                    Mount("/dev/null", path, null, MS_BIND);
            });
        }
        foreach (var path in ReadOnlyPaths)
        {
            Workload.Try(InitFailure.Rootfs, $"make {path} read-only", () =>
            {
                if (!Path.Exists(path)) return;
                Mount(path, path, null, MS_BIND | MS_REC);
                SetReadOnly(path, recursive: true);
            });
        }
    }
}

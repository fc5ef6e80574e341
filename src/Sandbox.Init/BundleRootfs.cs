using Sandbox.Core;
using Sandbox.Interop.Libc;
using Sandbox.Protocol;
using static Sandbox.Interop.Libc.Mounts;

namespace Sandbox.Init;

/// <summary>
/// An OCI bundle's file system view (docs/oci-runtime.md): the config's <c>mounts</c> in order, the standard /dev
/// nodes when it mounts a tmpfs on /dev (as runc), its devices, then after the root switch its sysctls, masked and
/// read-only paths and root propagation. Replaces docker's defaults (<see cref="Rootfs"/>) for a bundle.
/// </summary>
internal static class BundleRootfs
{
    private const ulong MS_SYNCHRONOUS = 16, MS_MANDLOCK = 64, MS_DIRSYNC = 128, MS_NODIRATIME = 2048, MS_SILENT = 32768,
        MS_UNBINDABLE = 1 << 17, MS_SHARED = 1 << 20, MS_RELATIME = 1 << 21;

    /// <summary>runc's option table: (set, flag) pairs; the rest of the options go to the file system as data.</summary>
    private static readonly Dictionary<string, (bool Set, ulong Flag)> Flags = new(StringComparer.Ordinal)
    {
        ["ro"] = (true, MS_RDONLY), ["rw"] = (false, MS_RDONLY), ["nosuid"] = (true, MS_NOSUID), ["suid"] = (false, MS_NOSUID),
        ["nodev"] = (true, MS_NODEV), ["dev"] = (false, MS_NODEV), ["noexec"] = (true, MS_NOEXEC), ["exec"] = (false, MS_NOEXEC),
        ["sync"] = (true, MS_SYNCHRONOUS), ["async"] = (false, MS_SYNCHRONOUS), ["dirsync"] = (true, MS_DIRSYNC),
        ["mand"] = (true, MS_MANDLOCK), ["nomand"] = (false, MS_MANDLOCK), ["noatime"] = (true, MS_NOATIME),
        ["atime"] = (false, MS_NOATIME), ["nodiratime"] = (true, MS_NODIRATIME), ["diratime"] = (false, MS_NODIRATIME),
        ["relatime"] = (true, MS_RELATIME), ["norelatime"] = (false, MS_RELATIME), ["strictatime"] = (true, MS_STRICTATIME),
        ["nostrictatime"] = (false, MS_STRICTATIME), ["bind"] = (true, MS_BIND), ["rbind"] = (true, MS_BIND | MS_REC),
        ["silent"] = (true, MS_SILENT), ["loud"] = (false, MS_SILENT), ["remount"] = (true, MS_REMOUNT),
    };

    private static readonly Dictionary<string, ulong> Propagation = new(StringComparer.Ordinal)
    {
        ["private"] = MS_PRIVATE, ["rprivate"] = MS_PRIVATE | MS_REC, ["shared"] = MS_SHARED, ["rshared"] = MS_SHARED | MS_REC,
        ["slave"] = MS_SLAVE, ["rslave"] = MS_SLAVE | MS_REC, ["unbindable"] = MS_UNBINDABLE, ["runbindable"] = MS_UNBINDABLE | MS_REC,
    };

    private static readonly (string Name, uint Major, uint Minor)[] DefaultDevices =
    [
        ("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0),
    ];

    private static void CopyTree(string from, string to)
    {
        foreach (var entry in new DirectoryInfo(from).EnumerateFileSystemInfos())
        {
            var dest = Path.Combine(to, entry.Name);
            if (entry.LinkTarget is string link) File.CreateSymbolicLink(dest, link);
            else if (entry is DirectoryInfo dir)
            {
                Directory.CreateDirectory(dest);
                File.SetUnixFileMode(dest, dir.UnixFileMode);
                CopyTree(dir.FullName, dest);
            }
            else if (entry is FileInfo file && (file.Attributes & FileAttributes.Device) == 0)
            {
                File.Copy(file.FullName, dest);
                File.SetUnixFileMode(dest, file.UnixFileMode);
            }
        }
    }

    /// <summary>Splits options into mount flags, propagation flags and file-system data (unknown options are data).</summary>
    public static (ulong Flags, ulong Propagation, string Data) ParseOptions(IEnumerable<string> options)
    {
        ulong flags = 0, propagation = 0;
        var data = new List<string>();
        foreach (var o in options)
        {
            if (o == "tmpcopyup") continue;
            if (Flags.TryGetValue(o, out var f)) flags = f.Set ? flags | f.Flag : flags & ~f.Flag;
            else if (Propagation.TryGetValue(o, out var p)) propagation |= p;
            else data.Add(o);
        }
        return (flags, propagation, string.Join(',', data));
    }

    public static void Mount(string root, InitSpec spec, BundleSpec bundle)
    {
        bool devTmpfs = false;
        foreach (var m in bundle.Mounts)
        {
            Workload.Try(InitFailure.Rootfs, $"mount {m.Destination} ({m.Type})", () =>
            {
                var target = PathInRoot.Resolve(root, m.Destination);
                var (flags, propagation, data) = ParseOptions(m.Options);
                bool bind = m.Type == "bind" || (flags & MS_BIND) != 0;
                if (bind)
                {
                    bool isDir = Directory.Exists(m.Source);
                    if (!isDir && !File.Exists(m.Source)) throw new IOException($"bind source {m.Source} does not exist");
                    MakeMountPoint(root, target, isDir, m.Destination);
                    Mounts.Mount(m.Source, target, null, MS_BIND | (flags & MS_REC));
                    // A bind takes its flags only on a remount.
                    ulong remount = flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
                    if (remount != 0) Mounts.Mount(null, target, null, MS_REMOUNT | MS_BIND | remount);
                }
                else if (m.Type == "cgroup")
                {
                    MakeMountPoint(root, target, true, m.Destination);
                    MountCgroups(target, flags);
                }
                else
                {
                    MakeMountPoint(root, target, true, m.Destination);
                    // tmpcopyup (runc's and crun's extension; podman's --read-only sends it for /run, /tmp, /var/tmp):
                    // the tmpfs starts with the directory's contents, read through an fd opened before it is covered.
                    bool copyUp = m.Type == "tmpfs" && m.Options.Contains("tmpcopyup");
                    using var below = copyUp ? Files.Open(target, Files.O_RDONLY | Files.O_DIRECTORY | Files.O_CLOEXEC) : null;
                    Mounts.Mount(m.Source.Length > 0 ? m.Source : m.Type, target, m.Type, flags, data.Length > 0 ? data : null);
                    if (below is not null) CopyTree($"/proc/self/fd/{below.Fd}", target);
                    if (m.Destination.TrimEnd('/') == "/dev" && m.Type == "tmpfs") devTmpfs = true;
                }
                if (propagation != 0) Mounts.Mount(null, target, null, propagation);
            });
        }
        if (devTmpfs) CreateDevices(root);
        if (spec.Tty)
            Workload.Try(InitFailure.Rootfs, "create /dev/console", () =>
            {
                var console = PathInRoot.Resolve(root, "/dev/console");
                if (!File.Exists(console)) File.WriteAllBytes(console, []);
            });
    }

    private static void MakeMountPoint(string root, string target, bool directory, string what)
    {
        if (directory)
        {
            PathInRoot.CreateDirectory(root, target, InitFailure.Rootfs, what);
            return;
        }
        if (Directory.Exists(target) || File.Exists(target)) return;
        PathInRoot.CreateDirectory(root, Path.GetDirectoryName(target)!, InitFailure.Rootfs, what);
        File.WriteAllBytes(target, []);
    }

    /// <summary>
    /// <c>cgroup</c>: cgroup2 on a unified host; on v1, a tmpfs with one mount per hierarchy. In a cgroup namespace a
    /// fresh cgroupfs mount is rooted at the sandbox's own group; without one, the group's directory is bound.
    /// </summary>
    private static void MountCgroups(string target, ulong flags)
    {
        ulong baseFlags = flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME);
        if (File.Exists("/sys/fs/cgroup/cgroup.controllers"))
        {
            Mounts.Mount("cgroup2", target, "cgroup2", flags);
            return;
        }
        Mounts.Mount("tmpfs", target, "tmpfs", baseFlags, "mode=755");
        bool inNamespace = File.ReadLines("/proc/self/cgroup").All(l => l.EndsWith(":/", StringComparison.Ordinal));
        foreach (var line in File.ReadLines("/proc/self/cgroup"))
        {
            var parts = line.Split(':', 3);
            if (parts.Length != 3 || parts[1].Length == 0) continue; // the unified line of a hybrid host
            var controllers = parts[1];
            string dirName = controllers.StartsWith("name=", StringComparison.Ordinal) ? controllers[5..] : controllers;
            var dir = Path.Combine(target, dirName);
            Directory.CreateDirectory(dir);
            if (inNamespace)
            {
                var options = controllers.StartsWith("name=", StringComparison.Ordinal) ? "none," + controllers : controllers;
                Mounts.Mount("cgroup", dir, "cgroup", baseFlags | (flags & MS_RDONLY), options);
            }
            else if (parts[2] == "/")
            {
                // Not a group of this container (we make memory, cpu, pids, freezer ones): the host's root of that
                // hierarchy is not shown; the directory stays empty.
                continue;
            }
            else
            {
                var source = Path.Combine("/sys/fs/cgroup", dirName) + parts[2];
                if (!Directory.Exists(source)) { Directory.Delete(dir); continue; }
                Mounts.Mount(source, dir, null, MS_BIND);
                Mounts.Mount(null, dir, null, MS_REMOUNT | MS_BIND | baseFlags | (flags & MS_RDONLY));
            }
            // cpu,cpuacct is also reachable as cpu and cpuacct, as on the host.
            if (controllers.Contains(','))
                foreach (var single in controllers.Split(','))
                    if (!Path.Exists(Path.Combine(target, single))) File.CreateSymbolicLink(Path.Combine(target, single), dirName);
        }
        if ((flags & MS_RDONLY) != 0) Mounts.Mount(null, target, null, MS_REMOUNT | MS_RDONLY | baseFlags);
    }

    /// <summary>runc's default devices in a /dev tmpfs: binds of the host's nodes, the pts and fd links.</summary>
    private static void CreateDevices(string root)
    {
        var dev = PathInRoot.Resolve(root, "/dev");
        Workload.Try(InitFailure.Rootfs, "create /dev nodes", () =>
        {
            foreach (var (name, _, _) in DefaultDevices)
            {
                var path = dev + "/" + name;
                if (Path.Exists(path)) continue;
                File.WriteAllBytes(path, []);
                Mounts.Mount("/dev/" + name, path, null, MS_BIND);
            }
            if (!Path.Exists(dev + "/ptmx")) File.CreateSymbolicLink(dev + "/ptmx", "pts/ptmx");
            foreach (var (link, to) in new[] { ("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2"), ("core", "/proc/kcore") })
                if (!Path.Exists(dev + "/" + link) && new FileInfo(dev + "/" + link).LinkTarget is null) File.CreateSymbolicLink(dev + "/" + link, to);
        });
    }

    /// <summary>After the root switch: sysctls, masked and read-only paths, the root's propagation.</summary>
    public static void Finish(BundleSpec bundle)
    {
        foreach (var (key, value) in bundle.Sysctl)
            Workload.Try(InitFailure.Other, $"sysctl {key}", () => File.WriteAllText("/proc/sys/" + key.Replace('.', '/'), value));
        foreach (var path in bundle.MaskedPaths)
        {
            Workload.Try(InitFailure.Rootfs, $"mask {path}", () =>
            {
                if (Directory.Exists(path)) Mounts.Mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0");
                else if (File.Exists(path)) Mounts.Mount("/dev/null", path, null, MS_BIND);
            });
        }
        foreach (var path in bundle.ReadonlyPaths)
        {
            Workload.Try(InitFailure.Rootfs, $"make {path} read-only", () =>
            {
                if (!Path.Exists(path)) return;
                Mounts.Mount(path, path, null, MS_BIND | MS_REC);
                SetReadOnly(path, recursive: true);
            });
        }
        if (bundle.RootfsPropagation is { Length: > 0 } p && Propagation.TryGetValue(p, out var flag))
            Workload.Try(InitFailure.Rootfs, $"rootfsPropagation {p}", () => Mounts.Mount(null, "/", null, flag));
    }
}

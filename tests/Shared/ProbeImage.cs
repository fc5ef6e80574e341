using System.Diagnostics;

namespace Sandbox.Tests.Shared;

/// <summary>
/// A rootfs directory for the escape probes, the same for both backends: Debian's busybox-static with its applets, a
/// passwd/group, the static seccomp probe (tests/Sandbox.Container.Tests/probe.c) and <c>/escape.sh</c>, which prints
/// one "what=verdict" line per probe (<see cref="Expected"/>). Imported into a store with <c>sandbox image import</c>.
/// </summary>
internal static class ProbeImage
{
    /// <summary>
    /// What the script prints in a sandbox with docker's defaults, <c>--hostname probe --pids-limit 32 --memory 64m</c> and
    /// <c>-e DISK="MAJOR MINOR"</c> of the host's root disk.
    /// </summary>
    public static readonly (string What, string Verdict)[] Expected =
    [
        ("caps", "00000000a80425fb 00000000a80425fb 0000000000000000 0000000000000000"),
        ("no_new_privs", "1"),
        ("seccomp", "2"),
        ("/proc/kcore", "0"), ("/proc/keys", "0"), ("/proc/timer_list", "0"), ("/proc/sched_debug", "0"),
        ("/sys/firmware", "0"),
        ("sysrq-trigger", "refused"), ("proc/sys", "refused"), ("sysfs", "refused"),
        ("mount", "refused"), ("remount-proc", "refused"),
        ("mknod-block", "unusable"), ("mknod-kvm", "unusable"), ("dev/kvm", "absent"),
        ("foreign-processes", ""), ("kthreadd", "absent"), ("pid1", "sandbox-init"),
        ("host-root", "invisible"),
        ("hostname", "probe"), ("sethostname", "refused"),
        ("pids-cap", "reached"), ("memory-cap", "reached"),
    ];

    public const string Script = """
        #!/bin/sh
        st() { grep "^$1:" /proc/self/status | cut -f2; }
        echo "caps=$(st CapEff) $(st CapBnd) $(st CapInh) $(st CapAmb)"
        echo "no_new_privs=$(st NoNewPrivs)"
        echo "seccomp=$(st Seccomp)"
        for f in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug; do echo "$f=$(cat $f 2>/dev/null | wc -c)"; done
        echo "/sys/firmware=$(ls -A /sys/firmware 2>/dev/null | wc -l)"
        (echo h > /proc/sysrq-trigger) 2>/dev/null && echo sysrq-trigger=writable || echo sysrq-trigger=refused
        (echo 0 > /proc/sys/kernel/panic) 2>/dev/null && echo proc/sys=writable || echo proc/sys=refused
        touch /sys/probe 2>/dev/null && echo sysfs=writable || echo sysfs=refused
        mount -t tmpfs none /mnt 2>/dev/null && echo mount=allowed || echo mount=refused
        mount -o remount,rw /proc/sys 2>/dev/null && echo remount-proc=allowed || echo remount-proc=refused
        # CAP_MKNOD is in docker's set: a node can be made, but must not give a device (the host's disk, KVM).
        # DISK is the host's root block device (MAJOR MINOR), given with -e.
        mknod /tmp/disk b $DISK 2>/dev/null; mknod /dev/disk b $DISK 2>/dev/null
        { head -c 1 /tmp/disk || head -c 1 /dev/disk; } >/dev/null 2>&1 && echo mknod-block=readable || echo mknod-block=unusable
        mknod /tmp/kvm c 10 232 2>/dev/null; mknod /dev/kvm2 c 10 232 2>/dev/null
        { (exec 3<>/tmp/kvm) || (exec 3<>/dev/kvm2); } 2>/dev/null && echo mknod-kvm=opened || echo mknod-kvm=unusable
        test -e /dev/kvm && echo dev/kvm=present || echo dev/kvm=absent
        # Busybox runs some applets by exec'ing /proc/self/exe (its FEATURE_PREFER_APPLETS), so this pipeline's own
        # members may show the comm "exe" with "{exe} APPLET ..." as args (runc shows the same): those are not foreign.
        echo "foreign-processes=$(ps -o comm,args | awk 'NR > 1 && !($1 ~ /^(sandbox-init|sh|escape.sh|ps|awk)$/ || ($1 == "exe" && $2 == "{exe}" && $3 ~ /^(ps|awk)$/)) { printf "%s ", $1 }')"
        ps -o comm | grep -q kthreadd && echo kthreadd=present || echo kthreadd=absent
        echo "pid1=$(cat /proc/1/comm)"
        test -e /escape.sh && ! test -e /work && ! test -e /usr/share/dotnet && ! test -e /etc/debian_version && echo host-root=invisible || echo host-root=visible
        echo "hostname=$(hostname)"
        hostname evil 2>/dev/null && echo sethostname=allowed || echo sethostname=refused
        (i=0; while [ $i -lt 100 ]; do sleep 5 & i=$((i+1)); done) 2>/dev/null
        set -- /proc/[0-9]*; [ $# -le 32 ] && [ $# -ge 20 ] && echo pids-cap=reached || echo "pids-cap=$#"
        # The probe below forks (the i386 calls run in a child): free the pids the sleeps still hold first, with
        # builtins only (no fork is possible while the cap is reached).
        sleeps() { n=0; for p in /proc/[0-9]*; do c=; read -r c < $p/comm; [ "$c" = sleep ] && { n=$((n+1)); [ "$1" = kill ] && kill ${p#/proc/}; }; done; }
        { sleeps kill; sleeps; while [ $n -gt 0 ]; do sleeps; done; } 2>/dev/null
        # The memory limit (--memory 64m): a subshell that keeps doubling a string is killed by its group's OOM
        # killer (137), and the script (and the sandbox) live on.
        (x=xxxxxxxxxxxxxxxx; while :; do x=$x$x; done) 2>/dev/null; m=$?
        [ $m -eq 137 ] && echo memory-cap=reached || echo "memory-cap=$m"
        # The seccomp probe's lines (tests/Shared/SeccompProbe.cs) share some names with the lines above (mount,
        # sethostname): they follow a marker and are parsed apart.
        echo "-- seccomp probe --"
        /usr/local/bin/probe
        """;

    /// <summary>The line between the shell's verdicts and the seccomp probe's (as <see cref="Script"/> prints it).</summary>
    private const string SeccompMarker = "-- seccomp probe --";

    /// <summary>
    /// A minimal root at <paramref name="root"/>: the host's busybox with a link per applet, root in passwd and group,
    /// /tmp 1777, the usual mount points and <paramref name="extraDirs"/>.
    /// </summary>
    public static void MakeBusyboxRoot(string root, params string[] extraDirs)
    {
        foreach (var d in new[] { "bin", "etc", "tmp", "root", "run", "usr/local/bin", "proc", "sys", "dev" }.Concat(extraDirs))
            Directory.CreateDirectory(Path.Combine(root, d));
        File.SetUnixFileMode(Path.Combine(root, "tmp"), (UnixFileMode)0x3ff);
        File.Copy("/bin/busybox", Path.Combine(root, "bin/busybox"));
        foreach (var applet in Tool("/bin/busybox", "--list").Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var link = Path.Combine(root, "bin", applet.Trim());
            if (!File.Exists(link)) File.CreateSymbolicLink(link, "busybox");
        }
        File.WriteAllText(Path.Combine(root, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n");
        File.WriteAllText(Path.Combine(root, "etc/group"), "root:x:0:\n");
    }

    /// <summary>Builds the rootfs under <paramref name="dir"/>; returns its path.</summary>
    public static string Build(string dir, string probeSource)
    {
        var root = Path.Combine(dir, "probe-rootfs");
        MakeBusyboxRoot(root, "mnt");
        Tool("gcc", "-static", "-O1", "-o", Path.Combine(root, "usr/local/bin/probe"), probeSource);
        File.WriteAllText(Path.Combine(root, "escape.sh"), Script.Replace("\r", "") + "\n");
        File.SetUnixFileMode(Path.Combine(root, "escape.sh"), (UnixFileMode)0x1ed);
        return root;
    }

    /// <summary>"MAJOR MINOR" of the block device behind the host's "/" (from /proc/self/mountinfo).</summary>
    public static string HostRootDisk()
    {
        foreach (var line in File.ReadLines("/proc/self/mountinfo"))
        {
            var f = line.Split(' ');
            if (f.Length > 4 && f[4] == "/") return f[2].Replace(':', ' ');
        }
        throw new InvalidOperationException("no / in /proc/self/mountinfo");
    }

    /// <summary>The shell's verdicts (the lines before the seccomp probe's).</summary>
    public static Dictionary<string, string> Parse(string stdout) =>
        Split(stdout).Shell.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('=', 2))
            .Where(p => p.Length == 2).GroupBy(p => p[0]).ToDictionary(g => g.Key, g => g.First()[1]);

    /// <summary>The seccomp probe's lines, for <see cref="SeccompProbe.Mismatches"/>.</summary>
    public static Dictionary<string, string> ParseSeccomp(string stdout) => SeccompProbe.Parse(Split(stdout).Probe);

    private static (string Shell, string Probe) Split(string stdout)
    {
        int at = stdout.IndexOf(SeccompMarker + "\n", StringComparison.Ordinal);
        return at < 0 ? (stdout, "") : (stdout[..at], stdout[(at + SeccompMarker.Length + 1)..]);
    }

    private static string Tool(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEndAsync();
        var error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({p.ExitCode}): {error}");
        return output.Result;
    }
}

using System.Diagnostics;
using Sandbox.Tests.Shared;
using Xunit;

namespace Sandbox.MicroVm.Tests;

/// <summary>
/// The container backend's cgroup v2 path, proven where it is real: this host is hybrid (v1 controllers, an empty
/// cgroup2), most users' hosts are pure v2. A micro-VM with the product's own guest kernel (cgroup2 with memory, cpu
/// and pids, namespaces, overlayfs, seccomp) is that host: the image holds the NativeAOT <c>sandbox</c> and
/// <c>sandbox-init</c> with their libraries and busybox, and runs the container limit tests inside with
/// <c>sandbox run</c> (memory OOM → 137, the pids cap, the cpu quota, cleanup), first from the root cgroup, then
/// from a delegated subtree, as systemd gives a service with Delegate=yes; and <c>sandbox-oci update</c> writing the
/// v2 files (of a created and of a running container, by flags and by <c>--resources</c>). One VM boot.
/// </summary>
[Collection(VmCollection.Name)]
public sealed class CgroupV2TestBedTests(VmFixture vm)
{
    private const string Script = """
        #!/bin/sh
        # Runs inside a privileged micro-VM: the guest is a pure cgroup v2 host.
        mount -t cgroup2 cgroup2 /sys/fs/cgroup || exit 90
        mount -t tmpfs tmpfs /run || exit 91
        # A privileged VM workload shares the guest's cgroup namespace: start from the root cgroup, as a root shell does.
        echo $$ > /sys/fs/cgroup/cgroup.procs || exit 92
        S="sandbox --root /run/sandbox"
        limits() {
          $S run --rm --memory 32m busybox sh -c 'x=aaaaaaaaaaaaaaaa; while :; do x=$x$x; done' 2>/run/oom.err
          echo "$1 oom=$? $(grep -c 'workload killed: out of memory (limit 33554432 bytes)' /run/oom.err)"
          echo "$1 oom-stderr=$(head -c 300 /run/oom.err | tr '\n' ' ')"
          n=$($S run --rm --pids-limit 64 busybox sh -c '(i=0; while [ $i -lt 200 ]; do sleep 30 & i=$((i+1)); done) 2>/dev/null; set -- /proc/[0-9]*; echo $#')
          echo "$1 pids=$n"
          t=$($S run --rm --cpus 0.25 busybox sh -c '(while :; do :; done) & b=$!; sleep 4; set -- $(cat /proc/$b/stat); echo $(( ${14} + ${15} ))')
          echo "$1 cputicks=$t"
          echo "$1 left=$(find /sys/fs/cgroup -path '*/sandbox/*' -type d | wc -l)"
          echo "$1 left-list=$(find /sys/fs/cgroup -path '*/sandbox/*' -type d | head -n 8 | tr '\n' ' ')"
        }
        echo "controllers=$(cat /sys/fs/cgroup/cgroup.controllers)"
        limits root
        # Child groups of the sandboxes' parent (a cgroup directory's files are its interface: count directories only).
        echo "root groups=$(find /sys/fs/cgroup/sandbox -mindepth 1 -type d | wc -l)"
        # sandbox-oci's update (cgroup v2 files written by the update command itself, as runc): of a created container
        # (merged into the limits start makes the cgroup with), of a running one by flags, and by --resources.
        O="sandbox-oci --root /run/oci"
        mkdir -p /run/b/rootfs/bin && cp /bin/busybox /run/b/rootfs/bin/ && ln -s busybox /run/b/rootfs/bin/sleep
        (cd /run/b && sandbox-oci spec) && sed -i 's/"terminal": true/"terminal": false/; s/"args": \[ "sh" \]/"args": [ "sleep", "1000" ]/' /run/b/config.json
        $O create --bundle /run/b u1 </dev/null >/dev/null 2>>/run/oci.err
        $O update --memory 48m --pids-limit 45 u1 2>>/run/oci.err
        $O start u1 2>>/run/oci.err
        cg=/sys/fs/cgroup$(cut -d: -f3 /proc/$($O ps --format json u1 | tr -d '[]' | cut -d, -f1)/cgroup)
        echo "oci created=$(cat $cg/memory.max) $(cat $cg/pids.max)"
        $O update --memory 64m --memory-reservation 16m --cpu-quota 20000 --cpu-period 100000 --cpu-share 512 --pids-limit 40 u1 2>>/run/oci.err
        echo "oci flags=$(cat $cg/memory.max) $(cat $cg/memory.low) $(cat $cg/cpu.max | tr ' ' /) $(cat $cg/cpu.weight) $(cat $cg/pids.max)"
        # The guest kernel has no swap (no memory.swap.max): a swap limit is one line, as runc fails writing it.
        $O update --memory 64m --memory-swap 96m u1 2>/run/swap.err; rc=$?
        echo "oci swap=$([ $rc -ne 0 ] && echo failed) $(grep -c 'memory.swap' /run/swap.err) $(wc -l < /run/swap.err)"
        echo '{"memory":{"limit":33554432},"pids":{"limit":30}}' | $O update --resources - u1 2>>/run/oci.err
        echo "oci resources=$(cat $cg/memory.max) $(cat $cg/pids.max)"
        $O delete --force u1 2>>/run/oci.err
        echo "oci left=$([ -d $cg ] && echo $cg)"
        echo "oci stderr=$(head -c 300 /run/oci.err | tr '\n' ' ')"
        # Delegated: the runtime starts inside a non-root cgroup it owns, as systemd's Delegate=yes gives a service.
        mkdir -p /sys/fs/cgroup/system.slice/sandbox.service
        echo "+memory +cpu +pids" > /sys/fs/cgroup/cgroup.subtree_control
        echo "+memory +cpu +pids" > /sys/fs/cgroup/system.slice/cgroup.subtree_control
        echo $$ > /sys/fs/cgroup/system.slice/sandbox.service/cgroup.procs
        limits delegated
        echo "delegated base=$(ls /sys/fs/cgroup/system.slice/sandbox.service | grep -c -x -E 'sandbox|supervisor')"
        echo "delegated self=$(cut -d: -f3 /proc/self/cgroup)"
        """;

    [Fact]
    public void Container_limits_hold_on_a_pure_cgroup_v2_guest_from_the_root_and_from_a_delegated_subtree()
    {
        var dir = Directory.CreateTempSubdirectory("sandbox-v2-testbed-").FullName;
        try
        {
            var rootfs = BuildImage(dir);
            var import = TestEnvironment.Run(TestEnvironment.CliPath, "--root", vm.Root, "image", "import", rootfs, "--name", "v2-testbed");
            Assert.True(import.Code == 0, import.Stderr);
            var r = TestEnvironment.Run(TestEnvironment.CliPath, "--root", vm.Root, "run", "--rm", "--vm", "--privileged",
                "--memory", "512m", "--cpus", "2", "v2-testbed", "/testbed.sh");
            Assert.True(r.Code == 0, $"exit {r.Code}: {r.Stdout} / {r.Stderr}");
            var v = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('=', 2)).Where(p => p.Length == 2)
                .ToDictionary(p => p[0], p => p[1]);
            Assert.Contains("memory", v["controllers"]);
            Assert.Contains("pids", v["controllers"]);
            Assert.Contains("cpu", v["controllers"]);
            foreach (var where in new[] { "root", "delegated" })
            {
                Assert.True(v[$"{where} oom"] == "137 1", $"{where} oom: {v[$"{where} oom"]} ({r.Stdout})");
                Assert.InRange(int.Parse(v[$"{where} pids"]), 50, 64);
                // 100 ticks a second over ~4 s: a quarter of a CPU is ~100.
                Assert.InRange(int.Parse(v[$"{where} cputicks"]) / 400.0, 0.12, 0.35);
                Assert.True(v[$"{where} left"] == "0", $"{where}: cgroups left: {v[$"{where} left-list"]} ({r.Stdout})");
            }
            Assert.Equal("0", v["root groups"]);
            // sandbox-oci update on cgroup v2: created (48m, 45), flags (runc's shares → weight mapping
            // 1 + (512-2)*9999/262142 = 20), a swap limit on a kernel without swap, --resources.
            Assert.True(v["oci created"] == "50331648 45", $"oci created: {v["oci created"]} ({v["oci stderr"]})");
            Assert.True(v["oci flags"] == "67108864 16777216 20000/100000 20 40", $"oci flags: {v["oci flags"]} ({v["oci stderr"]})");
            Assert.Equal("failed 1 1", v["oci swap"]);
            Assert.True(v["oci resources"] == "33554432 30", $"oci resources: {v["oci resources"]} ({v["oci stderr"]})");
            Assert.Equal("", v["oci left"]);
            Assert.Equal("2", v["delegated base"]);  // the runtime's own leaf and its sandboxes' parent
            Assert.Equal("/system.slice/sandbox.service/supervisor", v["delegated self"]);
        }
        finally
        {
            TestEnvironment.Run(TestEnvironment.CliPath, "--root", vm.Root, "image", "rm", "v2-testbed");
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>A rootfs with busybox, the NativeAOT binaries and the libraries ldd lists for them, at the host's paths.</summary>
    private static string BuildImage(string dir)
    {
        var root = Path.Combine(dir, "rootfs");
        ProbeImage.MakeBusyboxRoot(root);
        var bin = Path.GetDirectoryName(TestEnvironment.CliPath)!;
        foreach (var exe in new[] { "sandbox", "sandbox-init" })
        {
            var source = Path.Combine(bin, exe);
            File.Copy(source, Path.Combine(root, "usr/local/bin", exe));
            foreach (var line in Tool("/usr/bin/ldd", source).Split('\n'))
            {
                var lib = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).FirstOrDefault(p => p.StartsWith('/'));
                if (lib is null || !File.Exists(lib)) continue;
                var target = Path.Combine(root, lib.TrimStart('/'));
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                if (!File.Exists(target)) File.Copy(lib, target);
            }
        }
        // The CLI's digests go through OpenSSL, which .NET loads with dlopen (ldd does not list it).
        foreach (var lib in new[] { "/usr/lib/x86_64-linux-gnu/libssl.so.3", "/usr/lib/x86_64-linux-gnu/libcrypto.so.3" })
        {
            var target = Path.Combine(root, lib.TrimStart('/'));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            if (!File.Exists(target)) File.Copy(lib, target);
        }
        // NativeAOT resolves DllImport("libc") as libc.so first.
        foreach (var libc in Directory.EnumerateFiles(root, "libc.so.6", SearchOption.AllDirectories).ToArray())
            File.CreateSymbolicLink(Path.Combine(Path.GetDirectoryName(libc)!, "libc.so"), "libc.so.6");
        // sandbox-oci is the same binary under another name (Program.cs dispatches on argv[0]).
        File.CreateSymbolicLink(Path.Combine(root, "usr/local/bin/sandbox-oci"), "sandbox");
        File.WriteAllText(Path.Combine(root, "testbed.sh"), Script.Replace("\r", "") + "\n");
        File.SetUnixFileMode(Path.Combine(root, "testbed.sh"), (UnixFileMode)0x1ed);
        return root;
    }

    private static string Tool(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEndAsync();
        p.StandardError.ReadToEnd();
        p.WaitForExit();
        return output.Result;
    }
}

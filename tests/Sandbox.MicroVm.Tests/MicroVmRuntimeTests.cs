using Sandbox.Core;
using Xunit;

namespace Sandbox.MicroVm.Tests;

/// <summary>Real libvirtd, real qemu, the real guest kernel and sandbox-init.</summary>
[Collection(VmCollection.Name)]
public sealed class MicroVmRuntimeTests(VmFixture vm)
{
    [Fact]
    public async Task Runs_a_command_and_reports_timings_and_accelerator()
    {
        var r = await vm.RunAsync(VmFixture.Busybox("echo", "hello from the guest"));
        Assert.Equal(ExitStatus.Exited(0), r.Status);
        Assert.Equal("hello from the guest\n", r.Stdout);
        Assert.Contains(r.Sandbox.Accelerator, new[] { Accelerator.Tcg, Accelerator.Kvm });
        var t = r.Sandbox.Timings;
        Assert.True(t.Requested < t.Created && t.Created < t.InitStarted && t.InitStarted < t.WorkloadStarted
            && t.WorkloadStarted < t.WorkloadExited && t.WorkloadExited <= t.Destroyed,
            string.Join(", ", t.Phases().Select(p => $"{p.Name}={p.Milliseconds}")));
        Assert.Empty(VmFixture.SandboxDomains());
    }

    [Fact]
    public async Task A_traced_run_reports_the_guest_kernels_and_inits_steps_in_order()
    {
        var r = await vm.RunAsync(VmFixture.Busybox("true") with { TraceBoot = true });
        Assert.Equal(ExitStatus.Exited(0), r.Status);
        var t = r.Sandbox.Timings;
        var steps = t.Steps.ToDictionary(s => s.Name, s => s.Ns);
        var report = string.Join(", ", t.StepsSinceRequest().Select(s => $"{s.Name}={s.Milliseconds:0.0}"));
        // The guest's marks (the kernel's from its log, init's from its clock) are aligned with the host's clock at init's
        // second Hello, the host's are its own: order is checked within each clock.
        string[][] groups =
        [
            ["kernel", "initramfs-unpack", "initramfs-done", "init-exec", "kernel-fs-mounted", "port-opened", "start-received", "trace-read",
                "root-mounted", "workload-init-spawned", "workload-init-started", "root-switched"],
            ["create-called", "hello", "start-sent", "exit-received"],
        ];
        foreach (var order in groups)
        {
            foreach (var name in order) Assert.True(steps.ContainsKey(name), $"no step {name}: {report}");
            for (int i = 1; i < order.Length; i++)
                Assert.True(steps[order[i - 1]] <= steps[order[i]], $"{order[i - 1]} after {order[i]}: {report}");
        }
        Assert.True(steps["root-switched"] <= t.WorkloadStarted && t.WorkloadStarted <= t.WorkloadExited, report);
    }

    [Fact]
    public async Task The_workload_gets_address_space_randomization()
    {
        // The guest boots with norandmaps (its two inits share qemu's translated code); the workload's init turns it
        // back on before the workload's exec, so two processes of the workload get different stacks.
        var r = await vm.RunAsync(VmFixture.Busybox("sh", "-c",
            "cat /proc/sys/kernel/randomize_va_space; grep '\\[stack\\]' /proc/self/maps; grep '\\[stack\\]' /proc/self/maps"));
        var lines = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 3, r.Stdout + r.Stderr);
        Assert.Equal("2", lines[0]);
        Assert.NotEqual(lines[1], lines[2]);
    }

    [Fact]
    public async Task Exit_codes_and_signals_come_back()
    {
        Assert.Equal(ExitStatus.Exited(7), (await vm.RunAsync(VmFixture.Busybox("sh", "-c", "exit 7"))).Status);
        var killed = await vm.RunAsync(VmFixture.Busybox("sh", "-c", "kill -9 $$"));
        Assert.Equal(ExitStatus.Killed(9), killed.Status);
        Assert.Equal(137, killed.Status.ShellCode);
    }

    [Fact]
    public async Task Stdin_is_piped_through()
    {
        var r = await vm.RunAsync(VmFixture.Busybox("cat"), stdin: "line one\nline two\n");
        Assert.Equal("line one\nline two\n", r.Stdout);
        Assert.Equal(ExitStatus.Exited(0), r.Status);
    }

    [Fact]
    public async Task Stderr_env_cwd_and_image_files()
    {
        var r = await vm.RunAsync(VmFixture.Busybox("sh", "-c", "echo to-stderr >&2; echo $FOO; pwd; head -1 /etc/group") with
        {
            Env = ["FOO=bar"],
            WorkingDir = "/tmp",
        });
        Assert.Equal("bar\n/tmp\nroot:x:0:\n", r.Stdout);
        Assert.Equal("to-stderr\n", r.Stderr);
    }

    [Fact]
    public async Task The_guest_runs_its_own_kernel()
    {
        var r = await vm.RunAsync(VmFixture.Busybox("uname", "-r"));
        var release = r.Stdout.Trim();
        Assert.NotEqual(File.ReadAllText("/proc/sys/kernel/osrelease").Trim(), release);
        // The release string is baked into the vmlinux we booted.
        var kernel = File.ReadAllBytes(TestEnvironment.KernelPath);
        Assert.True(kernel.AsSpan().IndexOf(System.Text.Encoding.ASCII.GetBytes("Linux version " + release)) >= 0,
            $"'{release}' is not the release of {TestEnvironment.KernelPath}");
    }

    [Fact]
    public async Task Memory_and_cpus_map_to_the_domain()
    {
        var r = await vm.RunAsync(VmFixture.Busybox("sh", "-c", "grep MemTotal /proc/meminfo; nproc") with
        {
            Limits = new ResourceLimits(MemoryBytes: 96L << 20, Cpus: 1.5),
        });
        Assert.Equal(ExitStatus.Exited(0), r.Status);
        var lines = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        long memTotalKib = long.Parse(lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
        // --memory is the workload's memory.max; the guest gets GuestOverheadMiB more RAM, of which MemTotal is what the
        // kernel did not reserve for itself (measured 18 MiB below with cgroups and namespaces built in; 24 allowed).
        const long guestKib = (96 + MicroVmRuntime.GuestOverheadMiB) << 10;
        Assert.InRange(memTotalKib, guestKib - (24 << 10), guestKib);
        Assert.Equal("2", lines[1]);
    }

    [Fact]
    public async Task Stats_report_qemu_footprint_and_guest_size()
    {
        var stdout = new MemoryStream();
        await using var sandbox = await vm.Runtime.StartAsync(VmFixture.Busybox("sleep", "2") with { Limits = new ResourceLimits(MemoryBytes: 64L << 20) },
            SandboxStdio.Streams(null, stdout, null));
        var stats = await sandbox.GetStatsAsync();
        Assert.Equal((64L + MicroVmRuntime.GuestOverheadMiB) << 20, stats.GuestMemoryBytes);
        Assert.InRange(stats.HostOverheadPssBytes, 1L << 20, 1L << 30);
        Assert.True(stats.MemoryBytes > 0);
        Assert.True(stats.CpuTime > TimeSpan.Zero);
        Assert.Equal(ExitStatus.Exited(0), await sandbox.WaitAsync());
    }

    [Fact]
    public async Task More_cpus_than_the_host_has_are_refused_before_anything_is_made()
    {
        var e = await Assert.ThrowsAsync<SandboxException>(() =>
            vm.Runtime.StartAsync(VmFixture.Busybox("true") with { Limits = new ResourceLimits(Cpus: Environment.ProcessorCount + 0.5) }, SandboxStdio.Null));
        Assert.Equal(SandboxFailure.InvalidSpec, e.Reason);
        Assert.Empty(VmFixture.SandboxDomains());
    }

    [Fact]
    public async Task Boot_deadline_destroys_the_domain_and_says_so()
    {
        await using var runtime = new MicroVmRuntime(vm.Paths, new BusyboxLeaseOnly(vm), vm.LoggerFactory, TestEnvironment.LibvirtUri,
            TestEnvironment.KernelPath, TestEnvironment.InitramfsPath) { BootDeadline = TimeSpan.FromMilliseconds(1) };
        var dirsBefore = RunDirs();
        var e = await Assert.ThrowsAsync<SandboxException>(() => vm.RunAsync(VmFixture.Busybox("true"), runtime: runtime));
        Assert.Equal(SandboxFailure.BootTimeout, e.Reason);
        Assert.Contains("did not boot within", e.Message);
        Assert.Empty(VmFixture.SandboxDomains());
        // (Another test's SIGKILLed CLI may have left a young directory for the reaper: compare, not expect empty.)
        Assert.Equal(dirsBefore, RunDirs());
    }

    [Fact]
    public async Task Unreachable_libvirt_is_one_clear_error()
    {
        var sock = Path.Combine(vm.Root, "nobody-listens.sock");
        await using var runtime = vm.NewRuntime($"qemu:///system?socket={sock}");
        var e = await Assert.ThrowsAsync<SandboxException>(() => vm.RunAsync(VmFixture.Busybox("true"), runtime: runtime));
        Assert.Equal(SandboxFailure.BackendUnavailable, e.Reason);
        Assert.Equal(125, e.ExitCode);
        Assert.Contains("cannot reach libvirt", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public async Task Missing_command_is_127()
    {
        var e = await Assert.ThrowsAsync<SandboxException>(() => vm.RunAsync(VmFixture.Busybox("no-such-command")));
        Assert.Equal(127, e.ExitCode);
        Assert.Empty(VmFixture.SandboxDomains());
    }

    [Fact]
    public async Task Twenty_sequential_runs_leave_nothing_behind()
    {
        var dirsBefore = RunDirs();
        var ids = new List<string>();
        for (int i = 0; i < 20; i++)
        {
            // --rm: without it a stopped sandbox's directory is kept until rm/prune (docker's semantics).
            var r = await vm.RunAsync(VmFixture.Busybox("true") with { Remove = true });
            Assert.Equal(ExitStatus.Exited(0), r.Status);
            ids.Add(r.Sandbox.Id);
        }
        var domains = VmFixture.SandboxDomains();
        Assert.All(ids, id => Assert.DoesNotContain(MicroVmSandbox.FormatId(id), domains));
        // (Another test's SIGKILLed CLI may have left a young directory for the reaper: compare, not expect empty.)
        Assert.Equal(dirsBefore, RunDirs());
        // Other test assemblies boot VMs at the same time: check this test's own domains' logs, not the whole folder.
        Assert.All(ids, id => Assert.False(File.Exists($"/var/log/libvirt/qemu/sandbox-{id}.log"), $"libvirt log of sandbox-{id} left"));
    }

    private string[] RunDirs() =>
        Directory.Exists(vm.Paths.Run) ? Directory.GetFileSystemEntries(vm.Paths.Run).Order().ToArray() : [];

    /// <summary>The fixture's image, without its lifetime.</summary>
    private sealed class BusyboxLeaseOnly(VmFixture vm) : IImageProvider
    {
        public Task<IImageLease> AcquireAsync(string reference, RootfsForm form, CancellationToken cancellationToken = default) =>
            vm.Runtime is null ? throw new InvalidOperationException() : vm.ImageProvider.AcquireAsync(reference, form, cancellationToken);
    }
}

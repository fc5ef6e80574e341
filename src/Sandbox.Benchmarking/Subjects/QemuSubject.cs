using System.Globalization;

namespace Sandbox.Benchmarking.Subjects;

/// <summary>
/// The VM peer: plain <c>qemu-system-x86_64</c>, no libvirt, booting a kernel with a busybox initramfs whose /init runs
/// the workload and reboots. The exec mark is the moment a marker line the init prints before the workload reaches
/// the host over the serial console.
/// </summary>
public sealed class QemuSubject(string name, string qemuPath, string kernelPath, QemuMachine machine, int memoryMib = 128) : IBenchSubject
{
    private const string ExecMarker = "sandbox-bench-exec";
    private readonly string _work = Path.Combine(Path.GetTempPath(), $"sandbox-bench-qemu-{Environment.ProcessId}-{machine}");

    public string Name => name;

    public string Description =>
        $"`{Path.GetFileName(qemuPath)} -M {(machine == QemuMachine.Microvm ? "microvm" : "pc")} -accel tcg -m {memoryMib}` " +
        $"with {kernelPath} and a busybox initramfs (no libvirt)";

    private string Initramfs => Path.Combine(_work, "initramfs.cpio");

    public Task PrepareAsync(CancellationToken cancellationToken)
    {
        if (!File.Exists(qemuPath)) throw new FileNotFoundException($"qemu not found at {qemuPath}");
        if (!File.Exists(kernelPath)) throw new FileNotFoundException($"kernel not found at {kernelPath}");
        const string busybox = "/bin/busybox";
        if (!File.Exists(busybox)) throw new FileNotFoundException("busybox-static is not installed (/bin/busybox)");
        System.IO.Directory.CreateDirectory(_work);
        using var fs = File.Create(Initramfs);
        using var cpio = new CpioWriter(fs);
        foreach (var d in new[] { "bin", "dev", "proc", "sys", "tmp" }) cpio.Directory(d);
        cpio.File("bin/busybox", File.ReadAllBytes(busybox));
        cpio.Symlink("bin/sh", "busybox");
        // Unknown key=value kernel parameters reach /init as environment variables: sbx_idle selects the workload.
        cpio.File("init", System.Text.Encoding.ASCII.GetBytes($"""
            #!/bin/busybox sh
            /bin/busybox mount -t proc proc /proc
            /bin/busybox mount -t devtmpfs dev /dev 2>/dev/null
            echo {ExecMarker}
            if [ -n "$sbx_idle" ]; then echo {CliSubject.ReadyMarker}; /bin/busybox sleep 100000; else /bin/busybox true; fi
            /bin/busybox reboot -f

            """));
        return Task.CompletedTask;
    }

    private string[] Args(bool idle)
    {
        var append = "console=ttyS0 panic=-1 quiet" + (idle ? " sbx_idle=1" : "");
        string machineArg;
        if (machine == QemuMachine.Microvm)
        {
            machineArg = "microvm,x-option-roms=off,isa-serial=on,rtc=on";
            append += $" reboot=t tsc_early_khz={TscKhz()}";
        }
        else machineArg = "pc";
        return ["-M", machineArg, "-accel", "tcg", "-cpu", "max", "-m", memoryMib.ToString(CultureInfo.InvariantCulture),
                "-smp", "1", "-nodefaults", "-no-user-config", "-nographic", "-serial", "stdio", "-no-reboot",
                "-kernel", kernelPath, "-initrd", Initramfs, "-append", append];
    }

    /// <summary>The host TSC rate; without it microvm under TCG hangs in some boots calibrating the TSC.</summary>
    public static long TscKhz()
    {
        var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("cpu MHz", StringComparison.Ordinal));
        return line is null ? 2_000_000 : (long)(double.Parse(line.Split(':')[1].Trim(), CultureInfo.InvariantCulture) * 1000);
    }

    public async Task<BootSample> RunOnceAsync(int iteration, CancellationToken cancellationToken)
    {
        await using var p = ChildProcess.Start(qemuPath, Args(idle: false), ExecMarker);
        var (code, exited) = await p.WaitAsync(TimeSpan.FromSeconds(90), cancellationToken).ConfigureAwait(false);
        if (code != 0) throw new InvalidOperationException($"qemu exit code {code}: {p.Stderr.Trim()}");
        long exec = await p.Marker.ConfigureAwait(false);
        if (exec == 0) throw new InvalidOperationException("the guest never reached its init (no marker on the serial console)");
        // The marker is stamped when the console reader sees its line; under load that reader can run after the exit
        // was seen, but the guest printed it before it powered off.
        exec = Math.Min(exec, exited);
        return new BootSample(Name, iteration, null, (exec - p.StartedNs) / 1e6, (exited - p.StartedNs) / 1e6, null, "tcg");
    }

    public async Task<IIdleSandbox> StartIdleAsync(int index, CancellationToken cancellationToken)
    {
        var p = ChildProcess.Start(qemuPath, Args(idle: true), CliSubject.ReadyMarker);
        try
        {
            await p.WaitForMarkerAsync(TimeSpan.FromSeconds(120), cancellationToken).ConfigureAwait(false);
            return new Idle(p, name, memoryMib);
        }
        catch
        {
            await p.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public ValueTask DisposeAsync()
    {
        try { System.IO.Directory.Delete(_work, true); } catch (DirectoryNotFoundException) { }
        return ValueTask.CompletedTask;
    }

    private sealed class Idle(ChildProcess process, string name, int memoryMib) : IIdleSandbox
    {
        public FootprintSample Measure() =>
            new(name, 0, Pss.OfProcess(process.Pid), (long)memoryMib << 20, "PSS of the qemu process");

        public IEnumerable<int> ProcessIds() => [process.Pid];

        public ValueTask DisposeAsync() => process.DisposeAsync();
    }
}

public enum QemuMachine { Microvm, Pc }

using Sandbox.Benchmarking;
using Sandbox.Benchmarking.Subjects;

namespace Sandbox.Benchmarking.Tests;

/// <summary>The plain-qemu peer boots Debian's stock kernel (fetched by test.sh) with a busybox initramfs under TCG.</summary>
public class QemuSubjectTests
{
    internal static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Sandbox.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("repo root not found");
    }

    [Fact]
    public async Task StockKernelBootsRunsTheWorkloadAndPowersOff()
    {
        var kernel = Path.Combine(RepoRoot(), "out", "stock-kernel", "vmlinuz");
        Assert.True(File.Exists(kernel), $"{kernel} is missing: test.sh fetches it with bench/fetch-stock-kernel.sh");
        await using var qemu = new QemuSubject("qemu (stock kernel)", "/usr/bin/qemu-system-x86_64", kernel, QemuMachine.Pc);
        await qemu.PrepareAsync(CancellationToken.None);
        var sample = await qemu.RunOnceAsync(0, CancellationToken.None);
        Assert.NotNull(sample.ExecMs);
        Assert.InRange(sample.ExecMs!.Value, 1, sample.ExitMs);
        await using var idle = await qemu.StartIdleAsync(0, CancellationToken.None);
        var f = idle.Measure();
        Assert.True(f.RuntimePssBytes > 16 << 20, $"qemu PSS {f.RuntimePssBytes}");
        Assert.Equal(128L << 20, f.GuestMemoryBytes);
    }
}

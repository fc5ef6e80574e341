using Sandbox.Images.Erofs;
using Xunit;

namespace Sandbox.Images.Tests.Erofs;

/// <summary>
/// The reader that matters most: the Sandbox guest kernel (kernels/) boots under qemu with an image we wrote as its
/// virtio-blk disk and reads a file from it (kernels/check.sh does the boot and the checks).
/// </summary>
public sealed class GuestKernelErofsTests
{
    [Fact]
    public async Task GuestKernel_MountsAnImageWeWrote()
    {
        string repo = FindRepoRoot();
        string kernel = Environment.GetEnvironmentVariable("SANDBOX_KERNEL") is { Length: > 0 } k
            ? k
            : Path.Combine(Environment.GetEnvironmentVariable("SANDBOX_KERNEL_CACHE") is { Length: > 0 } c ? c : Path.Combine(repo, "out/kernel"), "current/vmlinux");
        Assert.True(File.Exists(kernel), $"this test needs the guest kernel at {kernel}: build it with kernels/build.sh");

        using var work = new TempDirectory("guest");
        string src = work.Combine("src");
        Directory.CreateDirectory(Path.Combine(src, "etc"));
        File.WriteAllText(Path.Combine(src, "hello"), "hello from an erofs disk\n");
        File.CreateSymbolicLink(Path.Combine(src, "etc/link"), "../hello");
        string image = work.Combine("disk.erofs");
        await ErofsImageWriter.WriteAsync(src, image);

        var psi = new System.Diagnostics.ProcessStartInfo(Path.Combine(repo, "kernels/check.sh"))
        {
            RedirectStandardError = true, RedirectStandardOutput = true,
        };
        psi.ArgumentList.Add("--image");
        psi.ArgumentList.Add(image);
        psi.Environment["SANDBOX_KERNEL"] = kernel;
        using var p = System.Diagnostics.Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEndAsync();
        Assert.True(p.WaitForExit(TimeSpan.FromMinutes(3)), "kernels/check.sh did not finish in 3 minutes");
        Assert.True(p.ExitCode == 0, $"kernels/check.sh failed ({p.ExitCode}):\n{await stderr}{await stdout}");
        Assert.Contains("SANDBOX-CHECK: erofs hello from an erofs disk", await stderr);
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "kernels/check.sh"))) return dir.FullName;
        throw new InvalidOperationException($"no kernels/check.sh above {AppContext.BaseDirectory}");
    }
}

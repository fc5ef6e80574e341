using Xunit;

namespace Sandbox.MicroVm.Tests;

/// <summary>
/// The product's promise: the same image and command give the same stdout and exit code as a container and as a
/// micro-VM. Driven through the real CLI binary (SANDBOX_CLI) with the built-in busybox image in a temp store.
/// </summary>
[Collection(VmCollection.Name)]
public sealed class SameOutputTests(VmFixture vm)
{
    /// <summary>Each command with what both backends must give: not only the same as each other, but this.</summary>
    public static TheoryData<string, string[], int, string> Commands => new()
    {
        { "id", ["id"], 0, "uid=0(root) gid=0(root) groups=0(root)\n" },
        // HOSTNAME (the sandbox's id) is left out; the rest is the image's PATH and the user's HOME.
        { "env", ["env"], 0, "HOME=/root\nPATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n" },
        { "pwd", ["pwd"], 0, "/\n" },
        { "ls /", ["ls", "/"], 0, "bin\ndev\netc\nhome\nlinuxrc\nmnt\nproc\nroot\nrun\nsbin\nsys\ntmp\nusr\nvar\n" },
        { "hostname is set", ["sh", "-c", "test -n \"$(hostname)\" && echo ok"], 0, "ok\n" },
        { "exit 7", ["sh", "-c", "exit 7"], 7, "" },
        { "killed by a signal", ["sh", "-c", "kill -9 $$"], 137, "" },
        { "workdir and env", ["-w", "/tmp", "-e", "GREETING=hi", "busybox-sh-c", "echo $GREETING from $(pwd)"], 0, "hi from /tmp\n" },
    };

    [Theory]
    [MemberData(nameof(Commands))]
    public void Container_and_vm_agree(string what, string[] command, int code, string stdout)
    {
        var (options, args) = Split(command);
        var container = Cli([.. options, "busybox", .. args]);
        var micro = Cli(["--vm", .. options, "busybox", .. args]);
        Assert.True(container.Code == code, $"{what}: container exited {container.Code}: {container.Stderr}");
        Assert.True(micro.Code == code, $"{what}: vm exited {micro.Code}: {micro.Stderr}");
        Assert.Equal(Normalize(stdout), Normalize(container.Stdout));
        Assert.Equal(Normalize(stdout), Normalize(micro.Stdout));
    }

    /// <summary>
    /// Output redirected to a regular file that the shell writes to before and after (a script's redirected block):
    /// the sandbox's lines land between the shell's, not under them (a VM's output was written at a position of its
    /// own with pwrite, and the shell's next line overwrote it).
    /// </summary>
    [Fact]
    public void Output_to_a_file_lands_where_the_shell_left_off()
    {
        var file = Path.Combine(vm.Root, "redirected.txt");
        foreach (var backend in new[] { "", "--vm" })
        {
            var script = $"{{ echo first; '{TestEnvironment.CliPath}' --root '{vm.Root}' run --rm {backend} busybox sh -c 'echo out; sleep 1; echo err >&2'; echo last; }} >'{file}' 2>&1";
            var r = TestEnvironment.Run("/bin/sh", "-c", script);
            Assert.True(r.Code == 0, $"{backend}: {r.Stderr}");
            Assert.Equal("first\nout\nerr\nlast\n", File.ReadAllText(file));
        }
    }

    [Fact]
    public void Stdin_through_cat_agrees()
    {
        var container = CliWithStdin("one\ntwo\n", "-i", "busybox", "cat");
        var micro = CliWithStdin("one\ntwo\n", "--vm", "-i", "busybox", "cat");
        Assert.Equal("one\ntwo\n", container.Stdout);
        Assert.Equal(container.Stdout, micro.Stdout);
        Assert.Equal(0, micro.Code);
    }

    [Fact]
    public void Dead_libvirtd_is_one_line_and_125()
    {
        var sock = Path.Combine(vm.Root, "nobody.sock");
        var r = TestEnvironment.Run(TestEnvironment.CliPath, "--root", vm.Root, "--libvirt-uri", $"qemu:///system?socket={sock}",
            "run", "--vm", "busybox", "true");
        Assert.Equal(125, r.Code);
        var lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.Contains("cannot reach libvirt", lines[0]);
        Assert.Empty(VmFixture.SandboxDomains());
    }

    [Fact]
    public async Task A_SIGKILLed_cli_leaves_no_domain()
    {
        var psi = new System.Diagnostics.ProcessStartInfo(TestEnvironment.CliPath) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "--root", vm.Root, "run", "--vm", "busybox", "sh", "-c", "echo up; sleep 60" }) psi.ArgumentList.Add(a);
        using var cli = System.Diagnostics.Process.Start(psi)!;
        Assert.Equal("up", await cli.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60)));
        var name = Assert.Single(VmFixture.SandboxDomains());
        cli.Kill();
        await cli.WaitForExitAsync();
        // AUTODESTROY: libvirtd destroys the domain when the dead process's connection closes.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (VmFixture.SandboxDomains().Contains(name) && DateTime.UtcNow < deadline) await Task.Delay(100);
        Assert.DoesNotContain(name, VmFixture.SandboxDomains());
        // Its run directory is left for the reaper (prune or the next run after the grace period); prune leaves it
        // while young, so only check that prune runs and the domain stays gone.
        var prune = TestEnvironment.Run(TestEnvironment.CliPath, "--root", vm.Root, "prune");
        Assert.Equal(0, prune.Code);
        File.Delete($"/var/log/libvirt/qemu/{name}.log"); // the killed CLI could not remove libvirt's log of its domain
    }

    [Fact]
    public void Timings_name_the_accelerator()
    {
        var r = Cli(["run-timings"]);
        Assert.Equal(0, r.Code);
        Assert.Matches(@"timings \(vm \[(tcg|kvm)\], (cold|warm)\): created [0-9.]+ms  init started [0-9.]+ms  workload exec [0-9.]+ms  workload exit [0-9.]+ms  destroyed [0-9.]+ms", r.Stderr);
    }

    /// <summary>Docker-style options before the image; "busybox-sh-c X" stands for `sh -c X` after the image.</summary>
    private static (string[] Options, string[] Args) Split(string[] command)
    {
        int i = Array.IndexOf(command, "busybox-sh-c");
        return i < 0 ? ([], command) : (command[..i], ["sh", "-c", .. command[(i + 1)..]]);
    }

    /// <summary>The hostname is the sandbox's id, different on every run; env's order is the environment's.</summary>
    private static string Normalize(string stdout) =>
        string.Join('\n', stdout.Split('\n').Where(l => !l.StartsWith("HOSTNAME=", StringComparison.Ordinal)).Order(StringComparer.Ordinal));

    private (int Code, string Stdout, string Stderr) Cli(string[] runArgs) =>
        runArgs is ["run-timings"]
            ? TestEnvironment.Run(TestEnvironment.CliPath, "--root", vm.Root, "run", "--vm", "--timings", "busybox", "true")
            : TestEnvironment.Run(TestEnvironment.CliPath, ["--root", vm.Root, "run", "--rm", .. runArgs]);

    private (int Code, string Stdout, string Stderr) CliWithStdin(string stdin, params string[] runArgs)
    {
        var psi = new System.Diagnostics.ProcessStartInfo(TestEnvironment.CliPath)
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        foreach (var a in new[] { "--root", vm.Root, "run", "--rm" }.Concat(runArgs)) psi.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        p.StandardInput.Write(stdin);
        p.StandardInput.Close();
        p.WaitForExit();
        return (p.ExitCode, stdout.Result, stderr.Result);
    }
}

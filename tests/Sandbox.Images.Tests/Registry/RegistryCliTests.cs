using System.Diagnostics;
using Sandbox.Tests.Shared;
using Xunit;

namespace Sandbox.Images.Tests.Registry;

/// <summary>
/// The published <c>sandbox</c> binary against real registries: login (password on stdin, file 0600, never echoed),
/// pull with progress lines, and <c>run --pull</c> of the image skopeo pushed, in a container and in a micro-VM.
/// </summary>
public sealed class RegistryCliTests(PlainRegistryFixture plain, TlsRegistryFixture tls)
    : IClassFixture<PlainRegistryFixture>, IClassFixture<TlsRegistryFixture>, IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static string Cli()
    {
        var env = Environment.GetEnvironmentVariable("SANDBOX_CLI");
        if (!string.IsNullOrEmpty(env)) return env;
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Sandbox.sln")))
            {
                var p = Path.Combine(d.FullName, "out", "bin", "sandbox");
                Assert.True(File.Exists(p), $"the sandbox CLI is not built ({p}); run ./scripts/build.sh or ./test.sh");
                return p;
            }
        throw new InvalidOperationException("cannot find the repository root (Sandbox.sln) nor SANDBOX_CLI");
    }

    private (int Code, string Out, string Err) Run(string? stdin, params string[] args)
    {
        var psi = new ProcessStartInfo(Cli())
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false,
        };
        psi.ArgumentList.Add("--root");
        psi.ArgumentList.Add(_dir.StoreRoot);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["REGISTRY_AUTH_FILE"] = Path.Combine(_dir.Path, "auth", "auth.json");
        psi.Environment["DOCKER_CONFIG"] = Path.Combine(_dir.Path, "docker");
        psi.Environment["XDG_CONFIG_HOME"] = Path.Combine(_dir.Path, "xdg");
        psi.Environment.Remove("XDG_RUNTIME_DIR");
        using var p = Process.Start(psi)!;
        if (stdin is not null) p.StandardInput.Write(stdin);
        p.StandardInput.Close();
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(TimeSpan.FromMinutes(3)), "sandbox did not finish");
        return (p.ExitCode, o.Result, e.Result);
    }

    [Fact]
    public void Login_stores_a_private_file_and_pull_uses_it_then_logout_removes_it()
    {
        var host = tls.Registry.Host;
        var (code, output, err) = Run("wrong-password-123\n", "login", "-u", RegistryServer.User, "--password-stdin", "--cert-dir", tls.Registry.CaDir!, host);
        Assert.Equal(125, code);
        Assert.Single(err.TrimEnd('\n').Split('\n'));
        Assert.Contains("wrong username or password", err);
        Assert.DoesNotContain("wrong-password-123", output + err);
        Assert.False(File.Exists(Path.Combine(_dir.Path, "auth", "auth.json")));

        (code, output, err) = Run(RegistryServer.Password + "\n", "login", "-u", RegistryServer.User, "--password-stdin", "--cert-dir", tls.Registry.CaDir!, host);
        Assert.True(code == 0, err);
        Assert.Contains("Login Succeeded", output);
        Assert.DoesNotContain(RegistryServer.Password, output + err);
        var file = Path.Combine(_dir.Path, "auth", "auth.json");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));

        (code, output, err) = Run(null, "pull", "--cert-dir", tls.Registry.CaDir!, $"{host}/secure/layered:t");
        Assert.True(code == 0, err);
        Assert.Contains(tls.Digest, output);
        Assert.Matches(@"[0-9a-f]{12}: pulled \S+ in [0-9.]+s \(\S+/s\)", err);

        (code, output, err) = Run(null, "logout", host);
        Assert.True(code == 0, err);
        Assert.DoesNotContain(host, File.ReadAllText(file));
        (code, _, err) = Run(null, "pull", "--cert-dir", tls.Registry.CaDir!, $"{host}/secure/layered:t");
        Assert.Equal(125, code);
        Assert.Contains($"sandbox login {host}", err);
    }

    [Fact]
    public void Run_pulls_the_skopeo_pushed_image_and_it_runs_the_same_in_a_container_and_a_micro_vm()
    {
        var image = $"{plain.Registry.Host}/layered:t";
        var (code, output, err) = Run(null, "run", "--rm", image);
        Assert.True(code == UmociLayeredImage.DefaultExitCode, $"exit {code}: {err}");
        Assert.Equal(UmociLayeredImage.DefaultOutput, output);

        (code, output, err) = Run(null, "run", "--rm", "--vm", "--pull", "never", image);
        Assert.True(code == UmociLayeredImage.DefaultExitCode, $"exit {code}: {err}");
        Assert.Equal(UmociLayeredImage.DefaultOutput, output);

        (code, _, err) = Run(null, "run", "--rm", "--pull", "never", $"{plain.Registry.Host}/not-pulled:t", "true");
        Assert.Equal(125, code);
        Assert.Contains("not found", err);
    }
}

using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Sandbox.Oci.Tests;

/// <summary>Paths of the binaries under test, a process runner, and OCI bundles over a busybox rootfs.</summary>
public static class OciTestEnv
{
    public static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Sandbox.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("repo root not found");
    }

    /// <summary>out/bin/sandbox-oci (a link to the NativeAOT <c>sandbox</c>, made by scripts/build.sh), or beside SANDBOX_CLI.</summary>
    public static string SandboxOci(bool vm = false)
    {
        var name = vm ? "sandbox-oci-vm" : "sandbox-oci";
        var cli = Environment.GetEnvironmentVariable("SANDBOX_CLI");
        var path = !string.IsNullOrEmpty(cli) ? Path.Combine(Path.GetDirectoryName(cli)!, name) : Path.Combine(RepoRoot(), "out", "bin", name);
        if (!File.Exists(path)) throw new InvalidOperationException($"{path} is missing: run scripts/build.sh (it links sandbox-oci to the sandbox binary)");
        return path;
    }

    public sealed record Result(int Code, string Stdout, string Stderr);

    public static Result Run(string exe, IEnumerable<string> args, int timeoutMs = 120_000, string? stdin = null, IDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (env is not null) foreach (var (k, v) in env) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        if (stdin is not null) p.StandardInput.Write(stdin);
        p.StandardInput.Close();
        var stdout = new System.Text.StringBuilder();
        var stderr = new System.Text.StringBuilder();
        var readers = Task.WhenAll(Drain(p.StandardOutput, stdout), Drain(p.StandardError, stderr));
        if (!p.WaitForExit(timeoutMs))
        {
            p.Kill(true);
            throw new TimeoutException($"{exe} {string.Join(' ', args)} did not exit in {timeoutMs} ms");
        }
        p.WaitForExit();
        // A created container's owner keeps the caller's stdio (it is the container's, as with runc): do not wait
        // for end of file beyond what the command itself wrote.
        readers.Wait(TimeSpan.FromSeconds(3));
        lock (stdout) lock (stderr) return new Result(p.ExitCode, stdout.ToString(), stderr.ToString());
    }

    private static async Task Drain(StreamReader reader, System.Text.StringBuilder into)
    {
        var buffer = new char[4096];
        int n;
        while ((n = await reader.ReadAsync(buffer)) > 0)
            lock (into) into.Append(buffer, 0, n);
    }

    /// <summary>A busybox rootfs from Debian's busybox-static: /bin/busybox, its applets as links, /etc/passwd and group.</summary>
    public static string MakeRootfs(string dir)
    {
        var busybox = File.Exists("/bin/busybox") ? "/bin/busybox" : throw new InvalidOperationException("busybox-static is not installed (TEST_PACKAGES)");
        Directory.CreateDirectory(Path.Combine(dir, "bin"));
        File.Copy(busybox, Path.Combine(dir, "bin", "busybox"), overwrite: true);
        foreach (var applet in new[] { "sh", "true", "false", "echo", "cat", "ls", "id", "sleep", "env", "pwd", "ps", "grep", "head", "hostname", "mount", "touch", "wc", "mkdir", "tty", "stat", "cut", "kill" })
            File.CreateSymbolicLink(Path.Combine(dir, "bin", applet), "busybox");
        foreach (var d in new[] { "etc", "tmp", "proc", "sys", "dev", "root", "data" }) Directory.CreateDirectory(Path.Combine(dir, d));
        File.WriteAllText(Path.Combine(dir, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n");
        File.WriteAllText(Path.Combine(dir, "etc", "group"), "root:x:0:\nuser:x:1000:\n");
        return dir;
    }

    /// <summary>A bundle whose config.json is runc's own default (<c>runc spec</c>), made non-interactive, with <paramref name="edit"/> applied.</summary>
    public static string MakeBundle(string dir, string rootfs, string[] args, Action<JsonObject>? edit = null)
    {
        Directory.CreateDirectory(dir);
        var spec = Run("runc", ["spec", "--bundle", dir]);
        if (spec.Code != 0) throw new InvalidOperationException("runc spec failed: " + spec.Stderr);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!.AsObject();
        config["root"]!["path"] = rootfs;
        config["root"]!["readonly"] = false;
        config["process"]!["terminal"] = false;
        config["process"]!["args"] = new JsonArray(args.Select(a => (JsonNode)JsonValue.Create(a)!).ToArray());
        edit?.Invoke(config);
        File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString());
        return dir;
    }

    public static JsonArray Strings(params string[] values) => new(values.Select(v => (JsonNode)JsonValue.Create(v)!).ToArray());
}

using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;

namespace Sandbox.Network.Cni;

/// <summary>
/// Runs one CNI plugin by the CNI protocol (spec 1.0, "Execution protocol"): the operation and its parameters in
/// <c>CNI_*</c> environment variables, the network configuration as JSON on stdin, the result (or an error object)
/// as JSON on stdout. The plugins are the ecosystem's executable contract, so exec'ing them is the right interface.
/// </summary>
public sealed class CniPlugin
{
    /// <summary>Debian's plugin directory; <c>SANDBOX_CNI_PATH</c> overrides it.</summary>
    public static string DefaultPath =>
        Environment.GetEnvironmentVariable("SANDBOX_CNI_PATH") is { Length: > 0 } p ? p : "/usr/lib/cni";

    public CniPlugin(string type, string searchPath)
    {
        Type = type;
        SearchPath = searchPath;
        foreach (var dir in searchPath.Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, type);
            if (File.Exists(candidate)) { Executable = candidate; return; }
        }
    }

    public string Type { get; }
    public string SearchPath { get; }
    public string? Executable { get; }

    /// <summary>Fails with one line naming the Debian package when the plugin is not installed.</summary>
    public void EnsurePresent()
    {
        if (Executable is null)
            throw new NetworkException(NetworkFailure.PluginMissing,
                $"CNI plugin '{Type}' not found in {SearchPath}: install the Debian package containernetworking-plugins");
    }

    /// <summary>Runs ADD, DEL or CHECK; returns the parsed stdout (null when empty, as DEL and CHECK print nothing).</summary>
    public async Task<JsonObject?> InvokeAsync(string command, string containerId, string? netns, string ifName, string cniArgs,
        JsonObject config, CancellationToken cancellationToken)
    {
        EnsurePresent();
        var psi = new ProcessStartInfo(Executable!)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.Environment.Clear();
        // The plugins run iptables (and the IPAM plugin): give them a root's PATH whatever ours is.
        psi.Environment["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        psi.Environment["CNI_COMMAND"] = command;
        psi.Environment["CNI_CONTAINERID"] = containerId;
        psi.Environment["CNI_NETNS"] = netns ?? "";
        psi.Environment["CNI_IFNAME"] = ifName;
        psi.Environment["CNI_ARGS"] = cniArgs;
        psi.Environment["CNI_PATH"] = SearchPath;
        using var process = new Process { StartInfo = psi };
        try { process.Start(); }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new NetworkException(NetworkFailure.PluginMissing, $"cannot run CNI plugin {Executable}: {e.Message}", e);
        }
        var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        try
        {
            await process.StandardInput.WriteAsync(config.ToJsonString()).ConfigureAwait(false);
            process.StandardInput.Close();
        }
        catch (IOException) { /* it exited early; its output says why */ }
        try { await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false); }
        catch (OperationCanceledException)
        {
            try { process.Kill(); } catch (InvalidOperationException) { }
            throw;
        }
        var output = await stdout.ConfigureAwait(false);
        var errors = await stderr.ConfigureAwait(false);
        if (process.ExitCode != 0)
            throw new NetworkException(NetworkFailure.Plugin, $"CNI plugin {Type} {command} failed: {ErrorText(output, errors, process.ExitCode)}");
        if (string.IsNullOrWhiteSpace(output)) return null;
        try { return JsonNode.Parse(output) as JsonObject; }
        catch (System.Text.Json.JsonException e)
        {
            throw new NetworkException(NetworkFailure.Plugin, $"CNI plugin {Type} {command} printed no JSON result: {e.Message}", e);
        }
    }

    /// <summary>The spec's error object: <c>{"code": N, "msg": "...", "details": "..."}</c>.</summary>
    private static string ErrorText(string stdout, string stderr, int exitCode)
    {
        try
        {
            if (JsonNode.Parse(stdout) is JsonObject error)
            {
                var sb = new StringBuilder();
                sb.Append((string?)error["msg"] ?? "error");
                if ((string?)error["details"] is { Length: > 0 } d) sb.Append(": ").Append(d);
                if ((int?)error["code"] is int code) sb.Append(" (code ").Append(code).Append(')');
                return sb.ToString().ReplaceLineEndings(" ");
            }
        }
        catch (System.Text.Json.JsonException) { }
        var text = (stderr.Length > 0 ? stderr : stdout).Trim().ReplaceLineEndings(" ");
        return text.Length > 0 ? text : $"exit code {exitCode}";
    }
}

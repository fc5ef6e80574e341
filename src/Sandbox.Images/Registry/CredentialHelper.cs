using System.ComponentModel;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Sandbox.Core;

namespace Sandbox.Images.Registry;

/// <summary>
/// A docker credential helper (<c>docker-credential-NAME</c>, named by <c>credsStore</c> or <c>credHelpers</c> in
/// docker's <c>config.json</c> or containers' <c>auth.json</c>), spoken to by its contract: the action as the only
/// argument (<c>get</c>, <c>store</c>, <c>erase</c>), the server address or a JSON credential on stdin, a JSON
/// credential on stdout. The contract is an executable, so Sandbox runs it, without a shell; secrets travel on the
/// pipes only, never on a command line, and never in a message.
/// </summary>
public sealed class CredentialHelper
{
    /// <summary>What helpers print when they hold nothing for a server (docker-credential-helpers' ErrCredentialsNotFound).</summary>
    private const string NotFoundMessage = "credentials not found in native keychain";

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private readonly string? _searchPath;

    /// <param name="name">The helper's name (<c>pass</c> runs <c>docker-credential-pass</c>).</param>
    /// <param name="configuredIn">The file that names it, for messages.</param>
    /// <param name="searchPath">Where to look for the executable, PATH-style (default: <c>$PATH</c>).</param>
    public CredentialHelper(string name, string configuredIn, string? searchPath = null)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('/') || name.Contains('\0'))
            throw new SandboxException(SandboxFailure.InvalidSpec, $"{configuredIn}: invalid credential helper name '{name}'");
        Name = name;
        ConfiguredIn = configuredIn;
        _searchPath = searchPath;
    }

    public string Name { get; }
    public string ConfiguredIn { get; }
    public string Executable => "docker-credential-" + Name;

    /// <summary>The helper's login for <paramref name="serverUrl"/>, or null when it holds none.</summary>
    public RegistryCredentials? Get(string serverUrl)
    {
        var (code, stdout) = Run("get", serverUrl);
        if (code != 0)
        {
            if (stdout.Contains(NotFoundMessage, StringComparison.OrdinalIgnoreCase)) return null;
            throw Failure("get", serverUrl, stdout);
        }
        HelperCredential? parsed;
        try { parsed = JsonSerializer.Deserialize(stdout, CredentialHelperJsonContext.Default.HelperCredential); }
        catch (JsonException) { throw new SandboxException(SandboxFailure.InvalidSpec, $"credential helper {Executable} (from {ConfiguredIn}): 'get {serverUrl}' did not answer JSON"); }
        if (parsed is null || string.IsNullOrEmpty(parsed.Secret)) return null;
        // "<token>" as user name: the secret is an identity token (docker's convention).
        return new RegistryCredentials(string.IsNullOrEmpty(parsed.Username) ? "<token>" : parsed.Username, parsed.Secret)
        {
            Source = $"{Executable} (from {ConfiguredIn})",
        };
    }

    /// <summary>Stores a login in the helper.</summary>
    public void Store(string serverUrl, RegistryCredentials credentials)
    {
        var json = JsonSerializer.Serialize(new HelperCredential { ServerUrl = serverUrl, Username = credentials.Username, Secret = credentials.Password },
            CredentialHelperJsonContext.Default.HelperCredential);
        var (code, stdout) = Run("store", json);
        if (code != 0) throw Failure("store", serverUrl, stdout);
    }

    /// <summary>Removes the helper's login for <paramref name="serverUrl"/>; false when it held none.</summary>
    public bool Erase(string serverUrl)
    {
        var (code, stdout) = Run("erase", serverUrl);
        if (code == 0) return true;
        if (stdout.Contains(NotFoundMessage, StringComparison.OrdinalIgnoreCase)) return false;
        throw Failure("erase", serverUrl, stdout);
    }

    private SandboxException Failure(string action, string serverUrl, string output)
    {
        // The helper's own message (its first line: helpers print errors, never secrets, on a failed action).
        var first = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? "no message";
        if (first.Length > 200) first = first[..200];
        return new SandboxException(SandboxFailure.Host, $"credential helper {Executable} (from {ConfiguredIn}) failed to {action} the login for {serverUrl}: {first}");
    }

    private string Resolve()
    {
        var path = _searchPath ?? Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/bin:/usr/bin:/bin";
        foreach (var dir in path.Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, Executable);
            if (File.Exists(candidate)) return candidate;
        }
        throw new SandboxException(SandboxFailure.Host,
            $"credential helper {Executable} (named in {ConfiguredIn}) is not installed (not found in PATH)");
    }

    /// <summary>Runs <c>docker-credential-NAME ACTION</c> with <paramref name="input"/> on stdin; returns its exit code and stdout.</summary>
    private (int Code, string Stdout) Run(string action, string input)
    {
        var psi = new ProcessStartInfo(Resolve())
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardInputEncoding = new UTF8Encoding(false),
        };
        psi.ArgumentList.Add(action);
        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new SandboxException(SandboxFailure.Host, $"cannot start credential helper {Executable}");
        }
        catch (Win32Exception e)
        {
            throw new SandboxException(SandboxFailure.Host, $"cannot start credential helper {Executable} (from {ConfiguredIn}): {e.Message}", e);
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            try
            {
                process.StandardInput.Write(input);
                process.StandardInput.Close();
            }
            catch (IOException) { } // a helper that exits without reading its input: its exit code says the rest
            if (!process.WaitForExit(Timeout))
            {
                try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                process.WaitForExit();
                throw new SandboxException(SandboxFailure.Host,
                    $"credential helper {Executable} (from {ConfiguredIn}) did not answer '{action}' within {Timeout.TotalSeconds:0} s");
            }
            var output = stdout.GetAwaiter().GetResult();
            var errors = stderr.GetAwaiter().GetResult();
            return (process.ExitCode, process.ExitCode == 0 ? output : output + "\n" + errors);
        }
    }
}

/// <summary>The helpers' JSON credential (docker-credential-helpers' <c>credentials.Credentials</c>).</summary>
public sealed class HelperCredential
{
    [JsonPropertyName("ServerURL")] public string? ServerUrl { get; set; }
    [JsonPropertyName("Username")] public string? Username { get; set; }
    [JsonPropertyName("Secret")] public string? Secret { get; set; }
}

[JsonSerializable(typeof(HelperCredential))]
internal sealed partial class CredentialHelperJsonContext : JsonSerializerContext;

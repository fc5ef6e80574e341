using System.Text;
using Microsoft.Extensions.Logging;
using Sandbox.Images.Registry;

namespace Sandbox.Cli;

/// <summary>
/// <c>sandbox login [-u USER] [--password-stdin] HOST</c> and <c>sandbox logout HOST</c>. The password is read from
/// stdin or typed at a prompt without echo, never taken from the command line; the login is checked against the
/// registry before it is stored (mode 0600).
/// </summary>
public static class LoginCommand
{
    private static readonly OptionSpec[] LoginSpecs =
    [
        new(true, "--username", "-u"),
        new(false, "--password-stdin"),
        .. RegistryCommandOptions.Specs,
        new(false, "--help"),
    ];

    private static readonly OptionSpec[] LogoutSpecs = [new(true, "--authfile"), new(false, "--help")];

    public const string Usage = """
        Usage: sandbox login [-u USER] [--password-stdin] [OPTIONS] HOST
               sandbox logout [--authfile FILE] HOST

          -u, --username USER  User name (asked for when stdin is a terminal)
          --password-stdin     Read the password from stdin (else it is asked for, without echo)

        """ + RegistryCommandOptions.Usage;

    public static async Task<int> LoginAsync(GlobalOptions global, string[] args, CancellationToken ct)
    {
        var parsed = ParsedArgs.Parse(args, LoginSpecs, stopAtPositional: false);
        if (parsed.Has("--help")) { Console.Out.WriteLine(Usage); return 0; }
        if (parsed.Positionals.Count != 1) throw new UsageException("usage: sandbox login [-u USER] [--password-stdin] HOST");
        var registry = NormaliseHost(parsed.Positionals[0]);
        bool tty = !Console.IsInputRedirected;

        var username = parsed.Value("--username");
        if (string.IsNullOrEmpty(username))
        {
            if (!tty || parsed.Has("--password-stdin")) throw new UsageException("no user name: give one with -u USER");
            Console.Error.Write("Username: ");
            username = Console.ReadLine()?.Trim();
            if (string.IsNullOrEmpty(username)) throw new UsageException("no user name given");
        }
        string password;
        if (parsed.Has("--password-stdin"))
        {
            password = (await Console.In.ReadToEndAsync(ct).ConfigureAwait(false)).TrimEnd('\r', '\n');
        }
        else
        {
            if (!tty) throw new UsageException("stdin is not a terminal: pass the password on stdin with --password-stdin");
            password = ReadSecret("Password: ");
        }
        if (password.Length == 0) throw new UsageException("empty password");

        var credentials = new RegistryCredentials(username, password);
        var options = RegistryCommandOptions.Build(parsed, registry, credentials);
        using (var client = new RegistryClient(registry, options, global.LoggerFactory.CreateLogger<RegistryClient>()))
            await client.VerifyLoginAsync(ct).ConfigureAwait(false);
        var file = options.Credentials!.Save(registry, credentials);
        Console.Error.WriteLine($"credentials stored in {file}");
        Console.Out.WriteLine("Login Succeeded");
        return 0;
    }

    public static Task<int> LogoutAsync(GlobalOptions global, string[] args, CancellationToken ct)
    {
        _ = global;
        _ = ct;
        var parsed = ParsedArgs.Parse(args, LogoutSpecs, stopAtPositional: false);
        if (parsed.Has("--help")) { Console.Out.WriteLine(Usage); return Task.FromResult(0); }
        if (parsed.Positionals.Count != 1) throw new UsageException("usage: sandbox logout HOST");
        var registry = NormaliseHost(parsed.Positionals[0]);
        var removed = new CredentialStore(parsed.Value("--authfile")).Remove(registry);
        if (removed.Count == 0) Console.Error.WriteLine($"Not logged in to {registry}");
        else Console.Out.WriteLine($"Removed login credentials for {registry} from {string.Join(", ", removed)}");
        return Task.FromResult(0);
    }

    /// <summary><c>https://host:5000/v2/</c> → <c>host:5000</c>; Docker Hub's aliases → <c>docker.io</c>.</summary>
    public static string NormaliseHost(string host)
    {
        var h = host.Trim();
        foreach (var scheme in new[] { "https://", "http://" })
            if (h.StartsWith(scheme, StringComparison.OrdinalIgnoreCase)) h = h[scheme.Length..];
        int slash = h.IndexOf('/');
        if (slash >= 0) h = h[..slash];
        if (h is "index.docker.io" or "registry-1.docker.io" or "registry.hub.docker.com") h = RegistryReference.DockerHub;
        if (h.Length == 0 || h.Any(c => char.IsWhiteSpace(c) || c == '@'))
            throw new UsageException($"invalid registry host '{host}'");
        return h.ToLowerInvariant();
    }

    private static string ReadSecret(string prompt)
    {
        Console.Error.Write(prompt);
        var sb = new StringBuilder();
        while (true)
        {
            var key = Console.ReadKey(intercept: true);
            if (key.Key == ConsoleKey.Enter) break;
            if (key.Key == ConsoleKey.Backspace) { if (sb.Length > 0) sb.Length--; continue; }
            if (key.KeyChar != '\0') sb.Append(key.KeyChar);
        }
        Console.Error.WriteLine();
        return sb.ToString();
    }
}

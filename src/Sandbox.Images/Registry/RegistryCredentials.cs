namespace Sandbox.Images.Registry;

/// <summary>
/// A user name and password (or identity token) for one registry. <see cref="ToString"/> never shows the secret, so a
/// credential that ends up in a log line or an error message does not leak it.
/// </summary>
public sealed class RegistryCredentials(string username, string password)
{
    public string Username { get; } = username;
    public string Password { get; } = password;

    /// <summary>Where the credentials came from (an auth file's path), for messages.</summary>
    public string? Source { get; init; }

    public override string ToString() => $"{Username} (password hidden)";
}

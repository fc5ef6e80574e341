namespace Sandbox.Core;

/// <summary>A host directory or file bind-mounted into the sandbox (<c>-v HOST:GUEST[:ro]</c>).</summary>
public sealed record VolumeMount(string HostPath, string GuestPath, bool ReadOnly)
{
    /// <summary>Parses docker's <c>HOST:GUEST[:ro|rw]</c> form.</summary>
    public static VolumeMount Parse(string value)
    {
        var parts = value.Split(':');
        if (parts.Length is < 2 or > 3 || parts[0].Length == 0 || parts[1].Length == 0)
            throw new ArgumentException($"invalid volume '{value}': expected HOST:GUEST[:ro|rw]");
        bool readOnly = false;
        if (parts.Length == 3)
        {
            readOnly = parts[2] switch
            {
                "ro" => true,
                "rw" => false,
                _ => throw new ArgumentException($"invalid volume '{value}': mode must be 'ro' or 'rw'"),
            };
        }
        if (!parts[0].StartsWith('/'))
            throw new ArgumentException($"invalid volume '{value}': host path must be absolute");
        if (!parts[1].StartsWith('/'))
            throw new ArgumentException($"invalid volume '{value}': guest path must be absolute");
        return new VolumeMount(parts[0], parts[1], readOnly);
    }
}

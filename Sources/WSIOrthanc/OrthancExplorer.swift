/// Orthanc Explorer's extension: on a series page, a button that opens the series in our viewer, shown
/// only when the plugin serves that series as a slide.
enum OrthancExplorer {
    static func script(root: String) -> String {
        """
        $('#series').live('pagebeforeshow', function() {
          var seriesId = $.mobile.pageData.uuid;
          $('#dicomizer-viewer-button').remove();
          $.ajax({ url: '..\(root)/api/slides/' + seriesId, dataType: 'json', success: function(slide) {
            var button = $('<a>').attr('id', 'dicomizer-viewer-button').attr('data-role', 'button').attr('href', '#')
              .attr('data-icon', 'search').attr('data-theme', 'e').text('Dicomizer slide viewer')
              .button().click(function(e) { e.preventDefault(); window.open('..\(root)/viewer.html#slide=' + encodeURIComponent(slide.id)); });
            button.insertBefore($('#series-delete').parent().parent());
          }});
        });
        """
    }
}
